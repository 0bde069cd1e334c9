from django.apps import AppConfig


class WalletsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wallets"

    def ready(self) -> None:
        from core import scopes as S

        S.offer_scopes("wallets", [S.WALLETS_VIEW, S.WALLETS_TOPUP, S.WALLETS_RUN_TRIGGER])

        from wallets import dashboard

        dashboard.register()
        from wallets import demo

        demo.register()
        from wallets import bench

        demo.register()
        from wallets import bench
        bench.register()
