"""Wallets and prepaid runs API: thin views over the wallets services and selectors.

Reads need `wallets.view`, top-ups `wallets.topup`, triggering a run `wallets.run.trigger`
(checked again in the services). Money is text ("12.50"), days ISO.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.views import TenantAPIView, TenantListAPIView
from core.transitions import state_reload
from wallets import selectors
from wallets import selectors_runs as reads
from wallets.api import serializers as ser
from wallets.api.common import OldestFirst, query_filters
from wallets.services import ledger, runs

VIEW, TOPUP, TRIGGER = S.WALLETS_VIEW, S.WALLETS_TOPUP, S.WALLETS_RUN_TRIGGER


class WalletListView(OldestFirst, TenantListAPIView):
    """Wallets (filter `account`, `currency`, `low=true`), in id order, cursor pages."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.WalletOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.WalletFilterIn)
        wallets = selectors.wallet_list(
            actor=self.actor, account=f.get("account", ""), low=f.get("low", False)
        ).select_related("account")
        if f.get("currency"):
            wallets = wallets.filter(currency=f["currency"])
        return wallets

    @extend_schema(parameters=[ser.WalletFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WalletDetailView(TenantAPIView):
    """A wallet: balance, available, thresholds, estimates and per-product consumptions."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.WalletDetailOut)
    def get(self, request, pk: int):
        wallet = selectors.wallet_get(actor=self.actor, pk=pk)
        body = ser.WalletDetailOut(wallet).data
        body["consumptions"] = ser.WalletConsumptionOut(
            wallet.consumptions.select_related("product").order_by("product__code"), many=True
        ).data
        return Response(body)


class WalletTransactionListView(TenantListAPIView):
    """A wallet's ledger, newest first, cursor pages."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.WalletTransactionOut
    filter_backends: list = []

    def get_queryset(self):
        # the selector answers 404 for a wallet of another tenant
        return selectors.transaction_list(actor=self.actor, wallet_id=self.kwargs["pk"])

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)


class WalletTopUpView(TenantAPIView):
    """Top a wallet up (audited; send an Idempotency-Key): 201 with the credit and the balance."""

    required_scopes = {"POST": TOPUP}

    @extend_schema(request=ser.WalletTopUpIn, responses={201: ser.WalletTopUpOut})
    def post(self, request, pk: int):
        form = ser.WalletTopUpIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        tx = ledger.wallet_topup(
            actor=self.actor, wallet_id=pk, amount=v["amount"], reference=v["reference"]
        )
        body = {"transaction": tx, "balance": tx.balance_after}
        return Response(ser.WalletTopUpOut(body).data, status=status.HTTP_201_CREATED)


# --- prepaid runs -------------------------------------------------------------------------------


class PrepaidRunListCreateView(TenantListAPIView):
    """Prepaid runs, newest first (filter `status`); POST triggers one (202, runs in the
    background)."""

    required_scopes = {"GET": VIEW, "POST": TRIGGER}
    serializer_class = ser.PrepaidRunOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.PrepaidRunFilterIn)
        return reads.prepaid_run_list(actor=self.actor, status=f.get("status", ""))

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "-pk"
        return super().paginate_queryset(queryset)

    @extend_schema(parameters=[ser.PrepaidRunFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ser.PrepaidRunTriggerIn, responses={202: ser.PrepaidRunOut})
    def post(self, request):
        form = ser.PrepaidRunTriggerIn(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        run = runs.prepaid_run_trigger(
            actor=self.actor,
            as_of=v["as_of"],
            accounts=v["accounts"],
            subscriptions=v["subscriptions"],
            classifications=v["classifications"],
            estimation=v["estimation"],
            recurring_interval_days=v["recurring_interval_days"],
        )
        state_reload(run)
        return Response(ser.PrepaidRunOut(run).data, status=status.HTTP_202_ACCEPTED)


class PrepaidRunDetailView(TenantAPIView):
    """A prepaid run: status, progress, counters, filters, recurrence and successor."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.PrepaidRunOut)
    def get(self, request, pk: int):
        return Response(ser.PrepaidRunOut(reads.prepaid_run_get(actor=self.actor, pk=pk)).data)


class PrepaidRunErrorListView(OldestFirst, TenantListAPIView):
    """A run's errors (which service, which account, why), cursor pages."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.PrepaidRunErrorOut
    filter_backends: list = []

    def get_queryset(self):
        return reads.prepaid_run_errors(actor=self.actor, run_id=self.kwargs["pk"])


class PrepaidRunItemListView(OldestFirst, TenantListAPIView):
    """The items a run rated (filter `service`), cursor pages."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.PrepaidRatedItemOut
    filter_backends: list = []

    def get_queryset(self):
        f = query_filters(self.request, ser.PrepaidItemFilterIn)
        return reads.prepaid_run_items(
            actor=self.actor, run_id=self.kwargs["pk"], service_id=f.get("service")
        )

    @extend_schema(parameters=[ser.PrepaidItemFilterIn])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- watching a wallet (issue 19) -------------------------------------------------------------


class WalletWatchView(TenantAPIView):
    """Watch a wallet (POST) or stop (DELETE): its watchers are told when it falls below its
    minimum balance. Idempotent; 200 with {"wallet", "watching"}."""

    required_scopes = {"POST": VIEW, "DELETE": VIEW}

    def _set(self, pk: int, watching: bool) -> Response:
        from wallets.services.watch import wallet_watch_set

        now = wallet_watch_set(actor=self.actor, wallet_id=pk, watching=watching)
        return Response(ser.WalletWatchOut({"wallet": pk, "watching": now}).data)

    @extend_schema(request=None, responses=ser.WalletWatchOut)
    def post(self, request, pk: int):
        return self._set(pk, True)

    @extend_schema(request=None, responses=ser.WalletWatchOut)
    def delete(self, request, pk: int):
        return self._set(pk, False)
