from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "invoicing"

    def ready(self) -> None:
        from billing.hooks import register_run_completed
        from invoicing import ingest, labels
        from invoicing.services.charges import charges_from_billing_run

        labels.register()
        ingest.register()
        register_run_completed(charges_from_billing_run, name="invoicing.charges_from_billing_run")
