"""Screens of charges, claims, remittances, the receivables queue and job health, under /claims/.

Each area keeps its routes in its own module.
"""

from denials import (
    urls_claims,
    urls_cob,
    urls_corrections,
    urls_denial_ref,
    urls_denials,
    urls_jobs,
    urls_override_report,
    urls_receivables,
    urls_remittances,
)
from denials.urls_export import urlpatterns as export_urlpatterns

app_name = "denials"

urlpatterns = [
    *export_urlpatterns,
    *urls_claims.urlpatterns,
    *urls_remittances.urlpatterns,
    *urls_receivables.urlpatterns,
    *urls_jobs.urlpatterns,
    *urls_denial_ref.urlpatterns,  # before denials/<pk>/
    *urls_denials.urlpatterns,
]
urlpatterns += urls_corrections.urlpatterns  # the denial page's correction forms
urlpatterns += urls_cob.urlpatterns  # member COB tab, secondary-claim button
urlpatterns += urls_override_report.urlpatterns  # override rates report
