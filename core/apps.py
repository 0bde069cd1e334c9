from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core: tenants, roles, audit"

    def ready(self) -> None:
        from core import (
            bench,  # noqa: F401  (registers core benchmarks)
            demo,  # noqa: F401  (registers the core demo loader)
            event_types,
        )
        from core.api import authentication  # noqa: F401  (OpenAPI extension)
        from core.api.fields import strict_json_strings

        strict_json_strings()
        from core.scopes import AUDIT_READ, EVENTS_READ, TENANT_MANAGE, offer_scopes

        offer_scopes("core", [TENANT_MANAGE, AUDIT_READ, EVENTS_READ])
        event_types.register()  # override_request.* event types (issue 19)

        # every django-q2 worker process reports on its own (see core.health)
        from django_q.signals import post_spawn

        from core.health import start_worker_heartbeat

        post_spawn.connect(start_worker_heartbeat, dispatch_uid="core-worker-heartbeat")

        # axes announces a sign-in lockout only by this signal; the audit entry is written there
        from axes.signals import user_locked_out

        from core.lockout import on_user_locked_out

        user_locked_out.connect(on_user_locked_out, dispatch_uid="core-sign-in-locked-out")
