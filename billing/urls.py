"""Billing screens."""

from django.urls import path

from billing import views

app_name = "billing"
urlpatterns = [
    path("", views.run_list, name="runs"),
    path("rows/", views.run_rows, name="run-rows"),
    path("runs.csv", views.run_list_csv, name="runs-csv"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run-progress"),
    path("runs/<int:pk>/regenerate/", views.run_regenerate, name="run-regenerate"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/roster.csv", views.run_export, {"kind": "roster"}, name="run-roster"),
    path(
        "runs/<int:pk>/decisions.csv",
        views.run_export,
        {"kind": "decisions"},
        name="run-decisions-csv",
    ),
    path(
        "runs/<int:pk>/decisions-list.csv",
        views.run_decisions_list_csv,
        name="run-decisions-list-csv",
    ),
    path("runs/<int:pk>/package/", views.run_package, name="run-package"),
    path(
        "runs/<int:pk>/exceptions/resolve/",
        views.run_exceptions_resolve,
        name="run-exceptions-resolve",
    ),
    path("runs/<int:pk>/exceptions.csv", views.run_exceptions_csv, name="run-exceptions-csv"),
    path("runs/<int:pk>/compare/", views.run_compare, name="run-compare"),
    path("runs/<int:pk>/compare.csv", views.run_compare_csv, name="run-compare-csv"),
    path("exceptions/<int:pk>/resolve/", views.exception_resolve, name="exception-resolve"),
    path("decisions/<int:pk>/", views.decision_detail, name="decision"),
    path("decisions/<int:pk>/replay/", views.decision_replay, name="decision-replay"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_new, name="rule-new"),
    path("rules/copy/", views.rule_copy, name="rule-copy"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule-edit"),
    path("payers/", views.payer_list, name="payers"),
    path("payers/<int:pk>/", views.payer_edit, name="payer-edit"),
    path("overrides/", views.override_list, name="overrides"),
    path("overrides.csv", views.override_list_csv, name="overrides-csv"),
    path("runs/<int:pk>/close/", views.month_close_form, name="month-close"),
    path("month-closes/", views.month_close_list, name="month-closes"),
    path("month-closes.csv", views.month_close_export, name="month-closes-csv"),
    path("month-closes/<int:pk>/reopen/", views.month_reopen, name="month-reopen"),
    path("members/", views.member_list, name="members"),
    path("members.csv", views.member_export, name="members-csv"),
    path("members/<int:pk>/", views.member_detail, name="member"),
]
