from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self) -> None:
        from billing import bench, demo, ingest
        from billing.services import closes, overrides

        ingest.register()
        overrides.register()
        closes.register()
        demo.register()
        bench.register()
