"""Billing screens, one module per area; urls.py names them through this package."""

from billing.views.decisions import decision_detail, decision_replay
from billing.views.members import member_detail, member_export, member_list
from billing.views.payers import payer_edit, payer_list
from billing.views.rule_edit import rule_copy, rule_edit, rule_new
from billing.views.rules import override_list, rule_list
from billing.views.runs import (
    exception_resolve,
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
    "member_detail",
    "member_export",
    "member_list",
    "override_list",
    "payer_edit",
    "payer_list",
    "rule_copy",
    "rule_edit",
    "rule_new",
    "rule_list",
    "run_cancel",
    "run_detail",
    "run_export",
    "run_list",
    "run_package",
    "run_progress",
    "run_regenerate",
    "run_rows",
]
