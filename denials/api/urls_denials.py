"""Denial work API routes (issue 14): list, detail, moves, flip, reopen, assign, reference."""

from django.urls import path

from denials.api import views_denials as v

urlpatterns: list = [
    path("denials", v.DenialListView.as_view(), name="api-denials"),
    path("denials/transitions", v.DenialTransitionsView.as_view(), name="api-denial-transitions"),
    path("denials/<int:pk>", v.DenialDetailView.as_view(), name="api-denial"),
    path(
        "denials/<int:pk>/transition",
        v.DenialTransitionView.as_view(),
        name="api-denial-transition",
    ),
    path("denials/<int:pk>/flip", v.DenialFlipView.as_view(), name="api-denial-flip"),
    path("denials/<int:pk>/reopen", v.DenialReopenView.as_view(), name="api-denial-reopen"),
    path("denials/<int:pk>/assign", v.DenialAssignView.as_view(), name="api-denial-assign"),
]
