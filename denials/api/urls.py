"""API routes of charges, claims, remittances, receivables, denials and jobs, under /api/.

Each area keeps its routes in its own module.
"""

import denials.api.urls_cob  # coverages, COB, secondary claims
import denials.api.urls_corrections  # auto-correction
import denials.api.urls_reports  # receivables screens part: forced-match report
from denials.api import (
    urls_claims,
    urls_denials,
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
    *urls_denials.urlpatterns,
]
urlpatterns += denials.api.urls_reports.urlpatterns  # receivables screens part
urlpatterns += denials.api.urls_corrections.urlpatterns  # auto-correction
urlpatterns += denials.api.urls_cob.urlpatterns  # coverages, COB, secondary claims
urlpatterns += urls_override_report.urlpatterns  # override rates report
