"""837P export API routes (issue 13, part x837); listed before the claims routes so that
`claims/837` and `claims/interchanges` are not read as claim numbers."""

from django.urls import path

from denials.api import views_export as v

urlpatterns = [
    path("claims/837", v.Export837View.as_view(), name="api-claims-837"),
    path("claims/interchanges", v.InterchangeListView.as_view(), name="api-claims-interchanges"),
    path(
        "claims/interchanges/<int:pk>/file",
        v.InterchangeFileView.as_view(),
        name="api-claims-interchange-file",
    ),
]
