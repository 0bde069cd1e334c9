"""coverage, COB and secondary-claim API routes (issue 14, cob part)."""

from django.urls import path, re_path

from denials.api import views_cob as v

urlpatterns = [
    path("coverages", v.CoverageListCreateView.as_view(), name="api-coverages"),
    path("members/<int:pk>/cob", v.MemberCobView.as_view(), name="api-member-cob"),
    path(
        "members/<int:pk>/cob-override",
        v.MemberCobOverrideView.as_view(),
        name="api-member-cob-override",
    ),
    re_path(
        r"^claims/(?P<number>CLM-[0-9]{6,12})/secondary$",
        v.SecondaryClaimView.as_view(),
        name="api-claim-secondary",
    ),
]
