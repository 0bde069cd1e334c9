"""Billing API: a run's exceptions (list, resolve one, resolve in bulk with per-item outcomes)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing import selectors
from billing.api import serializers as ser
from billing.models import BillingRun, RunException
from billing.services import exceptions as exception_services
from core import scopes as S
from core.api.fields import id_field
from core.api.filters import query_data
from core.api.views import TenantAPIView, TenantListAPIView


class ExceptionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RunException.Status.values, required=False)
    code = serializers.CharField(required=False, allow_blank=True, max_length=40)


class BulkResolveSerializer(serializers.Serializer):
    """Either `code` (every open exception of it) or `ids` (a chosen set), and one note."""

    code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    ids = serializers.ListField(
        child=id_field(),
        required=False,
        allow_empty=False,
        max_length=exception_services.MAX_IDS,
    )
    resolution = serializers.CharField()

    def validate(self, data: dict) -> dict:
        if bool((data.get("code") or "").strip()) == bool(data.get("ids")):
            raise serializers.ValidationError(
                {"code": "give either an exception code or a list of ids (not both)."}
            )
        return data


class BulkItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    outcome = serializers.CharField(help_text=" | ".join(exception_services.OUTCOMES))


class BulkRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text="the run's status after the resolution")
    open_exceptions = serializers.IntegerField()


class BulkResultSerializer(serializers.Serializer):
    run = BulkRunSerializer()
    counts = serializers.DictField(child=serializers.IntegerField())
    items = BulkItemSerializer(many=True)


class ExceptionListView(TenantListAPIView):
    """A run's exceptions (filter status=OPEN|RESOLVED, code); those left open on a superseded
    run carry `closed_by_supersession: true` and the run that replaced it."""

    required_scopes = {"GET": S.BILLING_RUN_VIEW}
    serializer_class = ser.ExceptionSerializer
    filter_backends: list = []

    def _run(self) -> BillingRun:
        if not hasattr(self, "_run_obj"):
            self._run_obj = selectors.run_get(self.actor, self.kwargs["pk"])
        return self._run_obj

    def get_queryset(self):
        form = ExceptionFilterSerializer(data=query_data(self.request.query_params))
        form.is_valid(raise_exception=True)
        return selectors.exception_list_read(self.actor, self._run(), **form.validated_data)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        run = self._run()
        newer = selectors.replacing_run(run)
        context["superseded"] = run.status == BillingRun.Status.SUPERSEDED
        context["replaced_by"] = newer.pk if newer else None
        return context

    def paginate_queryset(self, queryset):
        self.paginator.ordering = "id"
        return super().paginate_queryset(queryset)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=RunException.Status.values),
            OpenApiParameter("code", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ExceptionResolveView(TenantAPIView):
    """Resolve an exception with a note; the run becomes COMPLETED when none is open."""

    required_scopes = {"POST": S.BILLING_EXCEPTION_RESOLVE}

    @extend_schema(request=ser.ResolveSerializer, responses=ser.ExceptionSerializer)
    def post(self, request, pk: int):
        form = ser.ResolveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        exc = exception_services.run_exception_resolve(
            actor=self.actor, exception_id=pk, resolution=form.validated_data["resolution"]
        )
        return Response(ser.ExceptionSerializer(exc).data)


class RunExceptionsResolveView(TenantAPIView):
    """Resolve every open exception of a code, or the given ids, with one note: per-item
    outcomes (resolved, already_resolved, not_allowed, not_found) and their counts."""

    required_scopes = {"POST": S.BILLING_EXCEPTION_RESOLVE}

    @extend_schema(request=BulkResolveSerializer, responses=BulkResultSerializer)
    def post(self, request, pk: int):
        selectors.run_get(self.actor, pk)
        form = BulkResolveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        v = form.validated_data
        result = exception_services.run_exceptions_resolve(
            actor=self.actor,
            run_id=pk,
            resolution=v["resolution"],
            code=v.get("code", ""),
            ids=v.get("ids"),
        )
        run = result.run
        body = {
            "run": {"id": run.pk, "status": run.status, "open_exceptions": run.open_exceptions},
            "counts": result.counts,
            "items": [{"id": i.id, "code": i.code, "outcome": i.outcome} for i in result.items],
        }
        return Response(BulkResultSerializer(body).data)
