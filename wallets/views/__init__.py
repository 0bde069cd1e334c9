"""Wallet screens, one module per area; urls.py names them through this package."""

from wallets.views.runs import (
    prepaid_run_detail,
    prepaid_run_list,
    prepaid_run_progress,
    prepaid_run_rows,
)
from wallets.views.wallets import wallet_detail, wallet_list, wallet_list_csv, wallet_topup
from wallets.views.watch import wallet_watch

__all__ = [
    "prepaid_run_detail",
    "prepaid_run_list",
    "prepaid_run_progress",
    "prepaid_run_rows",
    "wallet_detail",
    "wallet_list",
    "wallet_list_csv",
    "wallet_topup",
    "wallet_watch",
]
