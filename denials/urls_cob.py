"""COB screens routes (issue 14, cob part): the member's COB tab, its override forms, and the
claim page's secondary-claim button."""

from django.urls import path, re_path

from denials import views_cob as v

urlpatterns = [
    path("members/<int:pk>/cob/", v.member_cob, name="member-cob"),
    path("members/<int:pk>/cob/override/", v.member_cob_override, name="member-cob-override"),
    path(
        "members/<int:pk>/cob/override/remove/",
        v.member_cob_override_remove,
        name="member-cob-override-remove",
    ),
    re_path(r"^(?P<number>CLM-[0-9]{6,12})/secondary/$", v.claim_secondary, name="claim-secondary"),
]
