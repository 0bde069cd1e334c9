from django.apps import AppConfig


class DenialsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "denials"

    def ready(self) -> None:
        from denials import bench, ingest_remittance
        from denials.services import receivables

        ingest_remittance.register()
        receivables.register()
        bench.register()
