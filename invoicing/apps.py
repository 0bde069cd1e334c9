from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "invoicing"

    def ready(self) -> None:
        from billing.hooks import register_run_completed
        from core import scopes as S
        from invoicing import (
            bench,
            dashboard,
            demo,
            events,
            ingest,
            labels,
            links,
            watchdog,
            watchdog_pdf,
        )
        from invoicing.services.charges import charges_from_billing_run

        S.offer_scopes(
            "invoicing",
            [
                S.INVOICING_REQUEST_CREATE,
                S.INVOICING_REQUEST_APPROVE,
                S.INVOICING_TYPE_MANAGE,
                S.INVOICING_VIEW,
            ],
        )
        labels.register()
        ingest.register()
        register_run_completed(charges_from_billing_run, name="invoicing.charges_from_billing_run")
        links.register()
        dashboard.register()
        demo.register()
        bench.register()
        events.register()  # event types (issue 19)
        watchdog.register()  # ONLINE requests whose task was lost (issue 17)
        watchdog_pdf.register()  # bills whose PDF render was lost
