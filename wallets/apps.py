from django.apps import AppConfig


class WalletsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wallets"

    def ready(self) -> None:
        from core import scopes as S
        from wallets import bench, dashboard, demo, events, labels, watchdog

        S.offer_scopes("wallets", [S.WALLETS_VIEW, S.WALLETS_TOPUP, S.WALLETS_RUN_TRIGGER])
        dashboard.register()  # low-balance wallets panel
        demo.register()
        bench.register()  # manage.py bench prepaid
        labels.register()  # audit actions in words
        events.register()  # event types (issue 19)
        watchdog.register()  # stuck prepaid runs are queued again, then failed (issue 17)
