"""Screens of charges, claims, remittances, the receivables queue and job health, under /claims/.

Each area keeps its routes in its own module.
"""

from denials import urls_claims, urls_jobs, urls_override_report, urls_receivables, urls_remittances
from denials.urls_export import urlpatterns as export_urlpatterns

app_name = "denials"

urlpatterns = [
    *export_urlpatterns,
    *urls_claims.urlpatterns,
    *urls_remittances.urlpatterns,
    *urls_receivables.urlpatterns,
    *urls_jobs.urlpatterns,
]
urlpatterns += urls_override_report.urlpatterns  # dual: override report (issue 14 item 6)
