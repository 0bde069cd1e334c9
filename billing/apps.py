from django.apps import AppConfig


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self) -> None:
        from billing import bench, demo, ingest, labels, links
        from billing.services import overrides

        ingest.register()
        overrides.register()
        demo.register()
        bench.register()
        labels.register()
        links.register()
