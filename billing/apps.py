from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self) -> None:
        from billing import (
            bench,
            bench_pages,
            dashboard,
            demo,
            events,
            ingest,
            labels,
            links,
            watchdog,
            watchdog_package,
        )
        from billing.services import closes, overrides
        from core import scopes as S

        S.offer_scopes(
            "billing",
            [
                S.BILLING_RULES_MANAGE,
                S.BILLING_RUN_TRIGGER,
                S.BILLING_OVERRIDE_CREATE,
                S.BILLING_RUN_VIEW,
                S.BILLING_DECISION_REPLAY,
                S.BILLING_EXCEPTION_RESOLVE,
            ],
        )

        ingest.register()
        overrides.register()
        closes.register()
        demo.register()
        bench.register()
        bench_pages.register()  # issue 16: `bench pages` in its own module
        dashboard.register()
        labels.register()
        links.register()
        events.register()  # event types (issue 19)
        watchdog.register()  # stuck runs are queued again, then failed (issue 17)
        watchdog_package.register()  # and so are audit packages a dead worker left
