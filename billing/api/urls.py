"""Billing API routes under /api/billing/."""

from django.urls import path

from billing.api import members, payers
from billing.api import views as v

urlpatterns = [
    path("rule-versions", v.RuleVersionListCreateView.as_view(), name="api-rule-versions"),
    path("rule-versions/<int:pk>", v.RuleVersionDetailView.as_view(), name="api-rule-version"),
    path(
        "rule-versions/<int:pk>/activate",
        v.RuleVersionTransitionView.as_view(action_name="activate"),
        name="api-rule-version-activate",
    ),
    path(
        "rule-versions/<int:pk>/retire",
        v.RuleVersionTransitionView.as_view(action_name="retire"),
        name="api-rule-version-retire",
    ),
    path("overrides", v.OverrideListCreateView.as_view(), name="api-overrides"),
    path("members", members.MemberListView.as_view(), name="api-members"),
    path("members/<int:pk>", members.MemberDetailView.as_view(), name="api-member"),
    path("payers", payers.PayerListCreateView.as_view(), name="api-payers"),
    path("payers/<int:pk>", payers.PayerDetailView.as_view(), name="api-payer"),
    path("runs", v.RunListCreateView.as_view(), name="api-runs"),
    path("runs/<int:pk>", v.RunDetailView.as_view(), name="api-run"),
    path("runs/<int:pk>/regenerate", v.RunRegenerateView.as_view(), name="api-run-regenerate"),
    path("runs/<int:pk>/cancel", v.RunCancelView.as_view(), name="api-run-cancel"),
    path("runs/<int:pk>/decisions", v.DecisionListView.as_view(), name="api-run-decisions"),
    path("runs/<int:pk>/exceptions", v.ExceptionListView.as_view(), name="api-run-exceptions"),
    path("runs/<int:pk>/roster.csv", v.RunExportView.as_view(kind="roster"), name="api-run-roster"),
    path(
        "runs/<int:pk>/decisions.csv",
        v.RunExportView.as_view(kind="decisions"),
        name="api-run-decisions-csv",
    ),
    path("decisions/<int:pk>", v.DecisionDetailView.as_view(), name="api-decision"),
    path("decisions/<int:pk>/replay", v.DecisionReplayView.as_view(), name="api-decision-replay"),
    path(
        "exceptions/<int:pk>/resolve",
        v.ExceptionResolveView.as_view(),
        name="api-exception-resolve",
    ),
]
