"""Shapes of the invoicing API: what each operation takes and returns (no rules here)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.fields import bounded_integer
from core.api.strict import DayField, StrictSerializer
from invoicing.models import (
    WEEKDAY_CODES,
    Account,
    Bill,
    BillableCharge,
    Holiday,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
)

_type_field = InvoiceRequestType._meta.get_field


# --- calendars -------------------------------------------------------------------------------


class HolidaySerializer(serializers.Serializer):
    day = DayField()
    name = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    source = serializers.ChoiceField(Holiday.Source.choices, read_only=True)


class CalendarSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    weekend_days = serializers.ListField(child=serializers.ChoiceField(WEEKDAY_CODES))
    holidays = serializers.SerializerMethodField()

    @extend_schema_field(HolidaySerializer(many=True))
    def get_holidays(self, cal) -> list:
        return HolidaySerializer(cal.holidays.order_by("day"), many=True).data


class CalendarCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    weekend_days = serializers.ListField(
        child=serializers.ChoiceField(WEEKDAY_CODES), max_length=7, default=["SAT", "SUN"]
    )
    holidays = serializers.ListField(
        child=HolidaySerializer(),
        max_length=2000,
        default=list,
        help_text="the typed-in holidays (imported ones are kept)",
    )


class CalendarUpdateSerializer(CalendarCreateSerializer):
    name = serializers.CharField(max_length=100, required=False)
    weekend_days = serializers.ListField(
        child=serializers.ChoiceField(WEEKDAY_CODES), max_length=7, required=False
    )
    holidays = serializers.ListField(
        child=HolidaySerializer(),
        max_length=2000,
        required=False,
        help_text="replaces the typed-in holidays (imported ones are kept)",
    )


class HolidayImportSerializer(StrictSerializer):
    country = serializers.CharField(
        min_length=2, max_length=3, help_text="ISO country code the holidays package knows, e.g. US"
    )
    years = serializers.ListField(
        child=serializers.IntegerField(min_value=1950, max_value=2100),
        allow_empty=False,
        max_length=20,
    )


class HolidayImportResultSerializer(serializers.Serializer):
    country = serializers.CharField()
    years = serializers.ListField(child=serializers.IntegerField())
    found = serializers.IntegerField(help_text="holidays the package lists (observed included)")
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    calendar = CalendarSerializer()


# --- divisions and request types ---------------------------------------------------------------


class DivisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    work_calendar = serializers.CharField(
        source="work_calendar.name", default=None, allow_null=True
    )


class DivisionCreateSerializer(StrictSerializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    work_calendar = serializers.CharField(
        max_length=100, allow_null=True, default=None, help_text="a calendar name"
    )


class DivisionUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    work_calendar = serializers.CharField(max_length=100, allow_null=True, required=False)


class RequestTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    invoice_mode = serializers.ChoiceField(InvoiceRequestType.InvoiceMode.choices)
    bill_generation = serializers.ChoiceField(InvoiceRequestType.BillGeneration.choices)
    approval_required = serializers.BooleanField()
    defer_charge_count = serializers.IntegerField(allow_null=True)
    wait_days = serializers.IntegerField()
    threshold_days = serializers.IntegerField()
    work_calendar = serializers.CharField(
        source="work_calendar.name", default=None, allow_null=True
    )


class RequestTypeUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    invoice_mode = serializers.ChoiceField(InvoiceRequestType.InvoiceMode.choices, required=False)
    bill_generation = serializers.ChoiceField(
        InvoiceRequestType.BillGeneration.choices, required=False
    )
    approval_required = serializers.BooleanField(required=False)
    defer_charge_count = bounded_integer(
        _type_field("defer_charge_count"), allow_null=True, required=False
    )
    wait_days = bounded_integer(_type_field("wait_days"), max_value=3660, required=False)
    threshold_days = bounded_integer(_type_field("threshold_days"), max_value=3660, required=False)
    work_calendar = serializers.CharField(max_length=100, allow_null=True, required=False)


class RequestTypeCreateSerializer(RequestTypeUpdateSerializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    invoice_mode = serializers.ChoiceField(InvoiceRequestType.InvoiceMode.choices)
    bill_generation = serializers.ChoiceField(InvoiceRequestType.BillGeneration.choices)
    approval_required = serializers.BooleanField(default=False)
    defer_charge_count = bounded_integer(
        _type_field("defer_charge_count"), allow_null=True, default=None
    )
    wait_days = bounded_integer(_type_field("wait_days"), max_value=3660, default=0)
    threshold_days = bounded_integer(_type_field("threshold_days"), max_value=3660, default=0)
    work_calendar = serializers.CharField(max_length=100, allow_null=True, default=None)


# --- accounts and memberships ----------------------------------------------------------------


class CharacteristicSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    type = serializers.CharField(max_length=30)
    value = serializers.CharField(max_length=100)
    effective_from = DayField()


class CharacteristicSetSerializer(StrictSerializer):
    type = serializers.CharField(max_length=30)
    value = serializers.CharField(max_length=100)
    effective_from = DayField()


class MembershipSerializer(serializers.Serializer):
    class Meta:
        ref_name = "AccountMembership"

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    kind = serializers.ChoiceField(Membership.Kind.choices)
    status = serializers.ChoiceField(Membership.Status.choices)
    characteristics = CharacteristicSerializer(many=True)


class MembershipCreateSerializer(StrictSerializer):
    external_id = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(Membership.Kind.choices, default=Membership.Kind.INDIVIDUAL)
    status = serializers.ChoiceField(Membership.Status.choices, default=Membership.Status.ENROLLED)


class MembershipUpdateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(Membership.Kind.choices, required=False)
    status = serializers.ChoiceField(Membership.Status.choices, required=False)


class MembershipLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    event = serializers.CharField()
    message = serializers.CharField()
    actor_label = serializers.CharField()
    request = serializers.IntegerField(source="request_id", allow_null=True)


class AccountSerializer(serializers.ModelSerializer):
    division = serializers.CharField(source="division.code", default=None, allow_null=True)
    payer = serializers.CharField(source="payer.code", default=None, allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "number", "name", "bill_cycle_day", "division", "payer"]
        read_only_fields = fields


class AccountDetailSerializer(AccountSerializer):
    memberships = MembershipSerializer(many=True)

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "memberships"]
        read_only_fields = fields


class AccountUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    bill_cycle_day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    division = serializers.CharField(
        max_length=30, allow_null=True, required=False, help_text="a division code"
    )
    payer = serializers.CharField(
        max_length=30, allow_null=True, required=False, help_text="a payer code"
    )


class AccountCreateSerializer(AccountUpdateSerializer):
    number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    bill_cycle_day = serializers.IntegerField(min_value=1, max_value=28)
    division = serializers.CharField(max_length=30, allow_null=True, default=None)
    payer = serializers.CharField(max_length=30, allow_null=True, default=None)


# --- charges, bills, requests ----------------------------------------------------------------


class ChargeSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.number")
    charge_date = DayField()
    source = serializers.ChoiceField(BillableCharge.Source.choices)
    bill = serializers.IntegerField(source="bill_id", allow_null=True)

    class Meta:
        model = BillableCharge
        fields = [
            "id",
            "account",
            "external_id",
            "charge_date",
            "amount",
            "description",
            "source",
            "source_ref",
            "bill",
        ]
        read_only_fields = fields


class BillSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(Bill.Kind.choices)
    lines = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class BillLineSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    charge = serializers.IntegerField(source="charge_id")
    charge_date = DayField()
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class BillSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.number")
    kind = serializers.ChoiceField(Bill.Kind.choices)
    status = serializers.ChoiceField(Bill.Status.choices)
    cutoff_date = DayField()
    bill_date = DayField()
    accounting_date = DayField()
    lines = serializers.IntegerField(source="line_count")
    pdf_ready = serializers.SerializerMethodField()

    class Meta:
        model = Bill
        fields = [
            "id",
            "account",
            "kind",
            "status",
            "cutoff_date",
            "bill_date",
            "accounting_date",
            "lines",
            "total",
            "pdf_ready",
            "pdf_error",
            "created_at",
        ]
        read_only_fields = fields

    def get_pdf_ready(self, bill) -> bool:
        return bool(bill.pdf)


class BillDetailSerializer(BillSerializer):
    request = serializers.SerializerMethodField()
    line_items = serializers.SerializerMethodField()

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "request", "line_items"]
        read_only_fields = fields

    def get_request(self, bill) -> int | None:
        request = InvoiceRequest.objects.filter(bill=bill).values_list("pk", flat=True).first()
        return request

    @extend_schema_field(BillLineSerializer(many=True))
    def get_line_items(self, bill) -> list:
        return BillLineSerializer(bill.lines.order_by("position"), many=True).data


class InvoiceRequestSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="type.code")
    account = serializers.CharField(source="account.number")
    origin = serializers.ChoiceField(InvoiceRequest.Origin.choices)
    status = serializers.ChoiceField(InvoiceRequest.Status.choices)
    processing_mode = serializers.ChoiceField(InvoiceRequest.ProcessingMode.choices)
    cutoff_date = DayField()
    bill_date = DayField()
    accounting_date = DayField()
    processing_date = DayField()
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    approved_by = serializers.CharField(
        source="approved_by.username", default=None, allow_null=True
    )
    bill = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceRequest
        fields = [
            "id",
            "type",
            "account",
            "origin",
            "source_ref",
            "status",
            "processing_mode",
            "processing_date",
            "cutoff_date",
            "bill_date",
            "accounting_date",
            "created_by",
            "approved_by",
            "decided_reason",
            "error",
            "bill",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BillSummarySerializer(allow_null=True))
    def get_bill(self, request) -> dict | None:
        bill = request.bill
        if bill is None:
            return None
        summary = {"id": bill.pk, "kind": bill.kind, "lines": bill.line_count, "total": bill.total}
        return BillSummarySerializer(summary).data


class InvoiceRequestCreateSerializer(StrictSerializer):
    type = serializers.CharField(max_length=30, help_text="request type code (a MANUAL type)")
    account = serializers.CharField(max_length=40, help_text="account number")
    cutoff_date = DayField(required=False, help_text="default: today")
    bill_date = DayField(required=False, help_text="default: the cutoff date")
    accounting_date = DayField(required=False, help_text="default: the processing date")


class PreviewQuerySerializer(serializers.Serializer):
    type = serializers.CharField(max_length=30, help_text="request type code")
    account = serializers.CharField(max_length=40, help_text="account number")
    business_date = DayField(help_text="the day that stands for today (YYYY-MM-DD)")


class PreviewSerializer(serializers.Serializer):
    processing_date = serializers.DateField()
    cutoff_date = serializers.DateField()
    bill_date = serializers.DateField()
    accounting_date = serializers.DateField()
    processing_mode = serializers.ChoiceField(InvoiceRequest.ProcessingMode.choices)


class RejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, help_text="why the request is turned down")


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
