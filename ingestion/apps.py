from django.apps import AppConfig


class IngestionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ingestion"

    def ready(self) -> None:
        from core import scopes as S

        S.offer_scopes("ingestion", [S.INGESTION_READ, S.INGESTION_UPDATE])

        from ingestion import dashboard

        dashboard.register()
        from ingestion import events

        events.register()  # event types (issue 19)
        from ingestion import watchdog

        watchdog.register()  # stuck batches are queued again, then failed (issue 17)
