from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "invoicing"

    def ready(self) -> None:
        from core import scopes as S
        from invoicing import dashboard, labels, links

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
        links.register()
        dashboard.register()
