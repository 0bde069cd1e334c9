from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "invoicing"

    def ready(self) -> None:
        from invoicing import bench, demo, labels

        labels.register()
        demo.register()
        bench.register()
