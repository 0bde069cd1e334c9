"""The API of a member's own notifications: the inbox, mark read, mark all read, preferences.

Any member may call these (no scope): each reads and changes only the caller's notifications
in the caller's tenant; another user's or tenant's notification answers 404.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core import notifications as N
from core.api.fields import StrictBooleanField
from core.api.strict import StrictSerializer
from core.api.views import TenantAPIView, TenantListAPIView
from core.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    event_id = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "title",
            "body",
            "link",
            "event_id",
            "created_at",
            "read_at",
            "read",
        ]
        read_only_fields = fields

    def get_event_id(self, obj) -> str | None:
        """The event's message id (`evt_…`), as in `/api/events` and webhook bodies."""
        return obj.event.message_id if obj.event_id else None

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class InboxFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, help_text="only unread notifications")


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="how many notifications were marked read")


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    inbox = serializers.BooleanField(read_only=True)
    email = serializers.BooleanField(read_only=True)


class PreferenceSetSerializer(StrictSerializer):
    kind = serializers.CharField(max_length=100)
    inbox = StrictBooleanField()
    email = StrictBooleanField()


def _preferences(actor) -> list:
    return PreferenceSerializer(N.notification_preferences(actor), many=True).data


class NotificationListView(TenantListAPIView):
    """Your notifications in this tenant, newest first (`unread=true`: only unread ones)."""

    serializer_class = NotificationSerializer
    filter_backends: list = []

    def get_queryset(self):
        form = InboxFilterSerializer(data=self.request.query_params.dict())
        form.is_valid(raise_exception=True)
        return N.inbox_list(
            self.actor, unread_only=form.validated_data.get("unread", False)
        ).select_related("event")

    @extend_schema(parameters=[InboxFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationReadView(TenantAPIView):
    """Mark one of your notifications read (already read: unchanged)."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, pk: int):
        obj = N.notification_mark_read(actor=self.actor, notification_id=pk)
        return Response(NotificationSerializer(obj).data)


class NotificationReadAllView(TenantAPIView):
    """Mark every unread notification of yours in this tenant read."""

    @extend_schema(request=None, responses=MarkedSerializer)
    def post(self, request):
        n = N.notifications_mark_all_read(actor=self.actor)
        return Response(MarkedSerializer({"marked": n}).data)


class NotificationPreferencesView(TenantAPIView):
    """Which kinds of notice reach your inbox and your email; set one kind at a time."""

    @extend_schema(responses=PreferenceSerializer(many=True))
    def get(self, request):
        return Response(
            PreferenceSerializer(N.notification_preferences(self.actor), many=True).data
        )

    @extend_schema(request=PreferenceSetSerializer, responses=PreferenceSerializer(many=True))
    def post(self, request):
        form = PreferenceSetSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        N.notification_preference_set(actor=self.actor, **form.validated_data)
        return Response(
            PreferenceSerializer(N.notification_preferences(self.actor), many=True).data
        )
