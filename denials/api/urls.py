"""API routes of charges, claims, remittances, receivables, denials and jobs, under /api/.

Each area keeps its routes in its own module.
"""

import denials.api.urls_reports  # receivables screens part: forced-match report
from denials.api import (
    urls_claims,
    urls_jobs,
    urls_override_report,
    urls_receivables,
    urls_remittances,
)
from denials.api.urls_export import urlpatterns as export_urlpatterns

urlpatterns = [
    *export_urlpatterns,
    *urls_claims.urlpatterns,
    *urls_remittances.urlpatterns,
    *urls_receivables.urlpatterns,
    *urls_jobs.urlpatterns,
]
urlpatterns += denials.api.urls_reports.urlpatterns  # receivables screens part
urlpatterns += urls_override_report.urlpatterns  # dual: override report (issue 14 item 6)
