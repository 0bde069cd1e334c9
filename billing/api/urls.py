"""Billing API routes under /api/billing/."""

from django.urls import path

from billing.api import closes as cl
from billing.api import compare as c
from billing.api import exceptions as x
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
    path("runs/<int:pk>/exceptions", x.ExceptionListView.as_view(), name="api-run-exceptions"),
    path(
        "runs/<int:pk>/exceptions/resolve",
        x.RunExceptionsResolveView.as_view(),
        name="api-run-exceptions-resolve",
    ),
    path("runs/<int:pk>/roster.csv", v.RunExportView.as_view(kind="roster"), name="api-run-roster"),
    path(
        "runs/<int:pk>/decisions.csv",
        v.RunExportView.as_view(kind="decisions"),
        name="api-run-decisions-csv",
    ),
    path("runs/<int:pk>/compare", c.RunCompareView.as_view(), name="api-run-compare"),
    path(
        "runs/<int:pk>/compare/changes",
        c.RunCompareChangesView.as_view(),
        name="api-run-compare-changes",
    ),
    path("runs/<int:pk>/compare.csv", c.RunCompareExportView.as_view(), name="api-run-compare-csv"),
    path("decisions/<int:pk>", v.DecisionDetailView.as_view(), name="api-decision"),
    path("decisions/<int:pk>/replay", v.DecisionReplayView.as_view(), name="api-decision-replay"),
    path(
        "exceptions/<int:pk>/resolve",
        x.ExceptionResolveView.as_view(),
        name="api-exception-resolve",
    ),
    path("month-closes", cl.MonthCloseListCreateView.as_view(), name="api-month-closes"),
    path("month-closes/<int:pk>/reopen", cl.MonthReopenView.as_view(), name="api-month-reopen"),
]
