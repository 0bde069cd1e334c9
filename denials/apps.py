from django.apps import AppConfig


class DenialsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "denials"

    def ready(self) -> None:
        from core import scopes as S
        from denials import (
            bench,
            dashboard_jobs,
            demo_claims,
            demo_denials,
            demo_remit,
            demo_x837,
            ingest_charges,
            ingest_remittance,
        )
        from denials.services import denial_work, receivables

        S.offer_scopes(
            "denials",
            [
                S.CLAIMS_WRITE,
                S.CLAIMS_VIEW,
                S.BILLING_RECEIVABLE_OVERRIDE,
                S.BILLING_DENIAL_WRITE,
                S.BILLING_AUTOCORRECTION_RUN,
                S.BILLING_AUTOCORRECTION_OVERRIDE,
                S.BILLING_COB_OVERRIDE,
            ],
        )
        ingest_charges.register()
        demo_claims.register()
        demo_x837.register()
        demo_remit.register()
        demo_denials.register()
        ingest_remittance.register()
        receivables.register()
        denial_work.register()
        bench.register()
        dashboard_jobs.register()
