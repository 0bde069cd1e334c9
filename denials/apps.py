from django.apps import AppConfig


class DenialsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "denials"

    def ready(self) -> None:
        from core import scopes as S
        from denials import (
            bench,
            dashboard_jobs,
            dashboard_overrides,
            demo_claims,
            demo_denial_work,
            demo_denials,
            demo_remit,
            demo_x837,
            events,
            ingest_charges,
            ingest_coverage,
            ingest_remittance,
        )
        from denials.services import cob as cob_services
        from denials.services import corrections, denial_work, receivables

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
        ingest_coverage.register()
        demo_claims.register()
        demo_x837.register()
        demo_remit.register()
        demo_denials.register()
        demo_denial_work.register()
        ingest_remittance.register()
        receivables.register()
        denial_work.register()
        corrections.register()
        bench.register()
        dashboard_jobs.register()
        cob_services.register()  # COB override actions
        dashboard_overrides.register()  # override rates panel
        events.register()  # event types (issue 19)
