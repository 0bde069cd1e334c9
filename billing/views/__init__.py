"""Billing screens, one module per area; urls.py names them through this package."""

from billing.views.closes import (
    month_close_export,
    month_close_form,
    month_close_list,
    month_reopen,
)
from billing.views.compare import run_compare, run_compare_csv
from billing.views.decisions import decision_detail, decision_replay
from billing.views.exceptions import exception_resolve, run_exceptions_csv, run_exceptions_resolve
from billing.views.exports import override_list_csv, run_decisions_list_csv, run_list_csv
from billing.views.members import member_detail, member_export, member_list
from billing.views.payers import payer_edit, payer_list
from billing.views.rule_edit import rule_copy, rule_edit, rule_new
from billing.views.rules import override_list, rule_list
from billing.views.runs import (
    run_cancel,
    run_detail,
    run_export,
    run_list,
    run_package,
    run_progress,
    run_regenerate,
    run_rows,
)

__all__ = [
    "decision_detail",
    "decision_replay",
    "exception_resolve",
    "month_close_export",
    "month_close_form",
    "month_close_list",
    "month_reopen",
    "member_detail",
    "member_export",
    "member_list",
    "override_list",
    "override_list_csv",
    "payer_edit",
    "payer_list",
    "rule_copy",
    "rule_edit",
    "rule_new",
    "rule_list",
    "run_cancel",
    "run_compare",
    "run_compare_csv",
    "run_detail",
    "run_exceptions_csv",
    "run_exceptions_resolve",
    "run_export",
    "run_list",
    "run_list_csv",
    "run_decisions_list_csv",
    "run_package",
    "run_progress",
    "run_regenerate",
    "run_rows",
]
