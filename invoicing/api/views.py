"""Invoicing API (issue 12, item 11): thin views over invoicing.selectors and services.

Reads need `invoicing.view` (every role). Reference data (calendars, divisions, request types,
accounts, memberships, characteristics) is written under `invoicing.type.manage`, the scope the
configuration file needs for the same objects. Requests are created, cancelled and retried under
`invoicing.request.create`, approved and rejected under `invoicing.request.approve` (four-eyes in
the service). Per-payer grants narrow accounts, and so their requests, charges and bills.
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from core import scopes as S
from core.api.filters import query_choice
from core.api.views import TenantAPIView, TenantListAPIView
from core.exceptions import Conflict
from core.phi_reads import PHI_VIEW, record_phi_access
from invoicing import selectors
from invoicing.api import serializers as ser
from invoicing.models import Bill, InvoiceRequest, MembershipLog
from invoicing.services import requests as request_services
from invoicing.services import setup

VIEW, CREATE = S.INVOICING_VIEW, S.INVOICING_REQUEST_CREATE
APPROVE, MANAGE = S.INVOICING_REQUEST_APPROVE, S.INVOICING_TYPE_MANAGE


def _created(data) -> Response:
    return Response(data, status=status.HTTP_201_CREATED)


class _List(TenantListAPIView):
    filter_backends: list = []
    ordering = "-pk"

    def paginate_queryset(self, queryset):
        self.paginator.ordering = self.ordering
        return super().paginate_queryset(queryset)


# --- calendars -------------------------------------------------------------------------------


class CalendarListCreateView(_List):
    """Work calendars (weekend days and holidays); POST creates one."""

    required_scopes = {"GET": VIEW, "POST": MANAGE}
    serializer_class = ser.CalendarSerializer
    ordering = "id"

    def get_queryset(self):
        return selectors.calendar_list(self.actor).prefetch_related("holidays")

    @extend_schema(request=ser.CalendarCreateSerializer, responses={201: ser.CalendarSerializer})
    def post(self, request):
        form = ser.CalendarCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cal = setup.calendar_create(actor=self.actor, **form.validated_data)
        return _created(ser.CalendarSerializer(cal).data)


class CalendarDetailView(TenantAPIView):
    """One calendar; PATCH renames it, changes its weekend or replaces its typed-in holidays."""

    required_scopes = {"GET": VIEW, "PATCH": MANAGE}

    @extend_schema(responses=ser.CalendarSerializer)
    def get(self, request, pk: int):
        return Response(ser.CalendarSerializer(selectors.calendar_get(self.actor, pk)).data)

    @extend_schema(request=ser.CalendarUpdateSerializer, responses=ser.CalendarSerializer)
    def patch(self, request, pk: int):
        selectors.calendar_get(self.actor, pk)
        form = ser.CalendarUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        cal = setup.calendar_update(actor=self.actor, calendar_id=pk, **form.validated_data)
        return Response(ser.CalendarSerializer(cal).data)


class CalendarImportHolidaysView(TenantAPIView):
    """Add a country's public holidays for some years (observed days included); idempotent."""

    required_scopes = {"POST": MANAGE}

    @extend_schema(request=ser.HolidayImportSerializer, responses=ser.HolidayImportResultSerializer)
    def post(self, request, pk: int):
        selectors.calendar_get(self.actor, pk)
        form = ser.HolidayImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = setup.calendar_import_holidays(
            actor=self.actor, calendar_id=pk, **form.validated_data
        )
        result["calendar"] = selectors.calendar_get(self.actor, pk)
        return Response(ser.HolidayImportResultSerializer(result).data)


# --- divisions -------------------------------------------------------------------------------


class DivisionListCreateView(_List):
    """Divisions and their calendars; POST creates one."""

    required_scopes = {"GET": VIEW, "POST": MANAGE}
    serializer_class = ser.DivisionSerializer
    ordering = "id"

    def get_queryset(self):
        return selectors.division_list(self.actor)

    @extend_schema(request=ser.DivisionCreateSerializer, responses={201: ser.DivisionSerializer})
    def post(self, request):
        form = ser.DivisionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        div = setup.division_create(actor=self.actor, **form.validated_data)
        return _created(ser.DivisionSerializer(div).data)


class DivisionDetailView(TenantAPIView):
    """One division; PATCH changes its name or calendar."""

    required_scopes = {"GET": VIEW, "PATCH": MANAGE}

    @extend_schema(responses=ser.DivisionSerializer)
    def get(self, request, pk: int):
        return Response(ser.DivisionSerializer(selectors.division_get(self.actor, pk)).data)

    @extend_schema(request=ser.DivisionUpdateSerializer, responses=ser.DivisionSerializer)
    def patch(self, request, pk: int):
        selectors.division_get(self.actor, pk)
        form = ser.DivisionUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        div = setup.division_update(actor=self.actor, division_id=pk, **form.validated_data)
        return Response(ser.DivisionSerializer(div).data)


# --- request types ---------------------------------------------------------------------------


class RequestTypeListCreateView(_List):
    """Invoice request types; POST creates one (a refused combination is a 400 naming the rule)."""

    required_scopes = {"GET": VIEW, "POST": MANAGE}
    serializer_class = ser.RequestTypeSerializer
    ordering = "id"

    def get_queryset(self):
        return selectors.request_type_list(self.actor).select_related("work_calendar")

    @extend_schema(
        request=ser.RequestTypeCreateSerializer, responses={201: ser.RequestTypeSerializer}
    )
    def post(self, request):
        form = ser.RequestTypeCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        t = setup.request_type_create(actor=self.actor, **form.validated_data)
        return _created(ser.RequestTypeSerializer(t).data)


class RequestTypeDetailView(TenantAPIView):
    """One request type; PATCH changes it (the result must be an allowed combination)."""

    required_scopes = {"GET": VIEW, "PATCH": MANAGE}

    @extend_schema(responses=ser.RequestTypeSerializer)
    def get(self, request, pk: int):
        t = selectors.request_type_get_by_id(self.actor, pk)
        return Response(ser.RequestTypeSerializer(t).data)

    @extend_schema(request=ser.RequestTypeUpdateSerializer, responses=ser.RequestTypeSerializer)
    def patch(self, request, pk: int):
        selectors.request_type_get_by_id(self.actor, pk)
        form = ser.RequestTypeUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        t = setup.request_type_update(actor=self.actor, type_id=pk, **form.validated_data)
        return Response(ser.RequestTypeSerializer(t).data)


# --- accounts, memberships -------------------------------------------------------------------


class AccountListCreateView(_List):
    """Accounts the member may see (filter number, division); POST creates one."""

    required_scopes = {"GET": VIEW, "POST": MANAGE}
    serializer_class = ser.AccountSerializer
    ordering = "id"

    def get_queryset(self):
        q = self.request.query_params
        return selectors.account_list(
            self.actor, number=q.get("number", ""), division=q.get("division", "")
        )

    @extend_schema(parameters=[OpenApiParameter("number", str), OpenApiParameter("division", str)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ser.AccountCreateSerializer, responses={201: ser.AccountSerializer})
    def post(self, request):
        form = ser.AccountCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        acc = setup.account_create(actor=self.actor, **form.validated_data)
        return _created(ser.AccountSerializer(acc).data)


class AccountDetailView(TenantAPIView):
    """One account with its memberships and their characteristics; PATCH changes the account."""

    required_scopes = {"GET": VIEW, "PATCH": MANAGE}

    def _detail(self, account):
        account.memberships_list = selectors.membership_list(self.actor, account)
        record_phi_access(
            self.actor, PHI_VIEW, account, shown=len(account.memberships_list)
        )  # memberships carry member ids
        data = ser.AccountSerializer(account).data
        data["memberships"] = ser.MembershipSerializer(account.memberships_list, many=True).data
        return Response(data)

    @extend_schema(responses=ser.AccountDetailSerializer)
    def get(self, request, pk: int):
        return self._detail(selectors.account_get_by_id(self.actor, pk))

    @extend_schema(request=ser.AccountUpdateSerializer, responses=ser.AccountDetailSerializer)
    def patch(self, request, pk: int):
        account = selectors.account_get_by_id(self.actor, pk)
        form = ser.AccountUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        setup.account_update(actor=self.actor, account=account, **form.validated_data)
        return self._detail(selectors.account_get_by_id(self.actor, pk))


class MembershipListCreateView(_List):
    """An account's memberships with their characteristics; POST adds one."""

    required_scopes = {"GET": VIEW, "POST": MANAGE}
    serializer_class = ser.MembershipSerializer
    ordering = "id"

    def _account(self):
        return selectors.account_get_by_id(self.actor, self.kwargs["pk"])

    def get_queryset(self):
        account = self._account()
        record_phi_access(self.actor, PHI_VIEW, account, listing="memberships")
        return selectors.membership_list(self.actor, account)

    @extend_schema(
        request=ser.MembershipCreateSerializer, responses={201: ser.MembershipSerializer}
    )
    def post(self, request, pk: int):
        account = self._account()
        form = ser.MembershipCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        m = setup.membership_create(actor=self.actor, account=account, **form.validated_data)
        return _created(ser.MembershipSerializer(m).data)


class MembershipDetailView(TenantAPIView):
    """One membership of an account; PATCH changes its kind or status (logged)."""

    required_scopes = {"GET": VIEW, "PATCH": MANAGE}

    def _membership(self, pk: int, membership_pk: int):
        account = selectors.account_get_by_id(self.actor, pk)
        return selectors.membership_get(self.actor, account, membership_pk)

    @extend_schema(responses=ser.MembershipSerializer)
    def get(self, request, pk: int, membership_pk: int):
        m = self._membership(pk, membership_pk)
        record_phi_access(self.actor, PHI_VIEW, m)
        return Response(ser.MembershipSerializer(m).data)

    @extend_schema(request=ser.MembershipUpdateSerializer, responses=ser.MembershipSerializer)
    def patch(self, request, pk: int, membership_pk: int):
        m = self._membership(pk, membership_pk)
        form = ser.MembershipUpdateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        setup.membership_update(actor=self.actor, membership=m, **form.validated_data)
        return Response(ser.MembershipSerializer(self._membership(pk, membership_pk)).data)


class CharacteristicSetView(TenantAPIView):
    """Set a membership characteristic from a day on (same type and day: replaced); logged."""

    required_scopes = {"POST": MANAGE}

    @extend_schema(
        request=ser.CharacteristicSetSerializer, responses={201: ser.MembershipSerializer}
    )
    def post(self, request, pk: int, membership_pk: int):
        account = selectors.account_get_by_id(self.actor, pk)
        m = selectors.membership_get(self.actor, account, membership_pk)
        form = ser.CharacteristicSetSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        setup.characteristic_set(actor=self.actor, membership=m, **form.validated_data)
        m = selectors.membership_get(self.actor, account, membership_pk)
        return _created(ser.MembershipSerializer(m).data)


class MembershipLogView(_List):
    """A membership's Log tab, newest first."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.MembershipLogSerializer

    def get_queryset(self):
        account = selectors.account_get_by_id(self.actor, self.kwargs["pk"])
        m = selectors.membership_get(self.actor, account, self.kwargs["membership_pk"])
        return MembershipLog.objects.filter(membership=m)


# --- charges -------------------------------------------------------------------------------


class ChargeListView(_List):
    """Charges of visible accounts (filter account number, billed=true|false)."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.ChargeSerializer
    ordering = "id"

    def get_queryset(self):
        q = self.request.query_params
        billed = query_choice(q, "billed", ["true", "false"])
        return selectors.charge_list(
            self.actor,
            account=q.get("account", ""),
            unbilled=None if billed == "" else billed == "false",
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("account", str, description="account number"),
            OpenApiParameter("billed", str, enum=["true", "false"]),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ChargeDetailView(TenantAPIView):
    """One charge."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.ChargeSerializer)
    def get(self, request, pk: int):
        return Response(ser.ChargeSerializer(selectors.charge_get(self.actor, pk)).data)


# --- invoice requests ------------------------------------------------------------------------

REQUEST_STATUSES = InvoiceRequest.Status.values


class InvoiceRequestListCreateView(_List):
    """Invoice requests (filter status, account, type, creator); POST creates a manual one."""

    required_scopes = {"GET": VIEW, "POST": CREATE}
    serializer_class = ser.InvoiceRequestSerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.invoice_request_list(
            self.actor,
            status=query_choice(q, "status", REQUEST_STATUSES),
            account=q.get("account", ""),
            type=q.get("type", ""),
            creator=q.get("creator", ""),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=REQUEST_STATUSES),
            OpenApiParameter("account", str, description="account number"),
            OpenApiParameter("type", str, description="request type code"),
            OpenApiParameter("creator", str, description="username of the creator"),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ser.InvoiceRequestCreateSerializer,
        responses={201: ser.InvoiceRequestSerializer},
    )
    def post(self, request):
        form = ser.InvoiceRequestCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = dict(form.validated_data)
        created = request_services.invoice_request_create(
            actor=self.actor,
            type=selectors.request_type_get(self.actor, v.pop("type")),
            account=selectors.account_get(self.actor, v.pop("account")),
            **v,
        )
        # an online request due today was processed when the creation committed
        done = selectors.invoice_request_get(self.actor, created.pk)
        return _created(ser.InvoiceRequestSerializer(done).data)


class InvoiceRequestPreviewView(TenantAPIView):
    """The dates and processing mode a request would get on a business date; creates nothing."""

    required_scopes = {"GET": VIEW}

    @extend_schema(
        parameters=[ser.PreviewQuerySerializer],
        responses={
            200: ser.PreviewSerializer,
            404: OpenApiResponse(description="no such request type or account"),
        },
    )
    def get(self, request):
        form = ser.PreviewQuerySerializer(data=request.query_params)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        found = request_services.invoice_request_preview(
            actor=self.actor,
            type=selectors.request_type_get(self.actor, v["type"]),
            account=selectors.account_get(self.actor, v["account"]),
            business_date=v["business_date"],
        )
        return Response(ser.PreviewSerializer(found).data)


class InvoiceRequestDetailView(TenantAPIView):
    """One request with its status and, once processed, its bill."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.InvoiceRequestSerializer)
    def get(self, request, pk: int):
        found = selectors.invoice_request_get(self.actor, pk)
        return Response(ser.InvoiceRequestSerializer(found).data)


class InvoiceRequestActionView(TenantAPIView):
    """approve (four-eyes), reject (reason required), cancel or retry a request."""

    action_name = "approve"
    required_scopes = {"POST": APPROVE}

    def _run(self, pk: int, body) -> None:
        actor = self.actor
        if self.action_name == "approve":
            request_services.invoice_request_approve(actor=actor, request_id=pk)
        elif self.action_name == "reject":
            form = ser.RejectSerializer(data=body)
            form.is_valid(raise_exception=True)
            reason = form.validated_data["reason"]
            request_services.invoice_request_reject(actor=actor, request_id=pk, reason=reason)
        elif self.action_name == "cancel":
            form = ser.CancelSerializer(data=body if body else {})
            form.is_valid(raise_exception=True)
            reason = form.validated_data["reason"]
            request_services.invoice_request_cancel(actor=actor, request_id=pk, reason=reason)
        else:
            request_services.invoice_request_retry(actor=actor, request_id=pk)

    def post(self, request, pk: int):
        selectors.invoice_request_get(self.actor, pk)
        self._run(pk, request.data)
        found = selectors.invoice_request_get(self.actor, pk)
        return Response(ser.InvoiceRequestSerializer(found).data)


def _action_view(name: str, scope: str, body, doc: str):
    view = type(
        f"InvoiceRequest{name.title()}View",
        (InvoiceRequestActionView,),
        {"action_name": name, "required_scopes": {"POST": scope}, "__doc__": doc},
    )

    def post(self, request, pk: int):
        return InvoiceRequestActionView.post(self, request, pk)

    # a function of its own per view: extend_schema marks the function it decorates
    view.post = extend_schema(request=body, responses=ser.InvoiceRequestSerializer)(post)
    return view


InvoiceRequestApproveView = _action_view(
    "approve",
    APPROVE,
    None,
    "Approve a request waiting for approval: a second person (not its creator) holding "
    "invoicing.request.approve. It becomes PENDING and is processed when due.",
)
InvoiceRequestRejectView = _action_view(
    "reject", APPROVE, ser.RejectSerializer, "Turn down a request waiting for approval (reason)."
)
InvoiceRequestCancelView = _action_view(
    "cancel", CREATE, ser.CancelSerializer, "Withdraw a request waiting for approval or processing."
)
InvoiceRequestRetryView = _action_view(
    "retry", CREATE, None, "Put a request in ERROR back to PENDING (processed again when due)."
)


# --- bills -----------------------------------------------------------------------------------


class BillListView(_List):
    """Bills of visible accounts (filter account number, kind)."""

    required_scopes = {"GET": VIEW}
    serializer_class = ser.BillSerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.bill_list(
            self.actor,
            account=q.get("account", ""),
            kind=query_choice(q, "kind", Bill.Kind.values),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("account", str, description="account number"),
            OpenApiParameter("kind", str, enum=Bill.Kind.values),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BillDetailView(TenantAPIView):
    """One bill: kind, status, dates, total and its lines."""

    required_scopes = {"GET": VIEW}

    @extend_schema(responses=ser.BillDetailSerializer)
    def get(self, request, pk: int):
        return Response(ser.BillDetailSerializer(selectors.bill_get(self.actor, pk)).data)


class BillPdfView(TenantAPIView):
    """The bill's PDF (rendered by a task after processing; 409 until it is)."""

    required_scopes = {"GET": VIEW}

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            409: OpenApiResponse(description="the PDF is not rendered yet"),
        }
    )
    def get(self, request, pk: int):
        bill = selectors.bill_get(self.actor, pk)
        if not bill.pdf and bill.pdf_error:
            raise Conflict(
                f"Bill {bill.pk}: the PDF could not be rendered ({bill.pdf_error}); "
                "the bill stands without it.",
                code="pdf_failed",
            )
        if not bill.pdf:
            raise Conflict(
                f"Bill {bill.pk}: the PDF is not rendered yet; try again in a moment.",
                code="not_ready",
            )
        return FileResponse(
            bill.pdf.open("rb"),
            content_type="application/pdf",
            as_attachment=True,
            filename=f"bill-{bill.pk}.pdf",
        )
