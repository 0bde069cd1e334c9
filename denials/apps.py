from django.apps import AppConfig


class DenialsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "denials"

    def ready(self) -> None:
        from denials import dashboard_jobs  # jobs part

        dashboard_jobs.register()
