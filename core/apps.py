from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core: tenants, roles, audit"

    def ready(self) -> None:
        from core import (
            bench,  # noqa: F401  (registers core benchmarks)
            demo,  # noqa: F401  (registers the core demo loader)
        )
        from core.api import authentication  # noqa: F401  (OpenAPI extension)
        from core.scopes import AUDIT_READ, TENANT_MANAGE, offer_scopes

        offer_scopes("core", [TENANT_MANAGE, AUDIT_READ])
