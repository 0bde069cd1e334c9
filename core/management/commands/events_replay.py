"""manage.py events_replay --tenant SLUG --since ISO --endpoint ID [--until ISO]

Re-sends a range of a tenant's events to one of its webhook endpoints (e.g. after the partner's
receiver was down longer than the 24 h retry window): one REPLAY delivery per event the endpoint
subscribes to, queued behind its pending deliveries, signed with the same `webhook-id` as the
original so the partner can drop duplicates.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error


def instant_arg(option: str, text: str | None) -> datetime | None:
    """An ISO date or date-time option value (naive means UTC), or a one-line error."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option}: expected an ISO date or date-time such as 2026-12-01 or "
            f"2026-12-01T08:00:00Z, found {text!r}."
        ) from None
    if len(text.strip()) == 10:  # a date alone: the start of that day
        value = datetime.combine(value.date(), time.min)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Queue a range of a tenant's events again for one webhook endpoint (REPLAY deliveries)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, metavar="SLUG")
        parser.add_argument("--endpoint", required=True, type=int, metavar="ID")
        parser.add_argument(
            "--since", required=True, metavar="ISO", help="first instant (naive times are UTC)"
        )
        parser.add_argument("--until", metavar="ISO", help="last instant (default: now)")

    def handle(self, *args, tenant, endpoint, since, until, **opts):
        from core.webhooks import webhook_replay_range

        tenant_obj = tenant_or_error(tenant)
        start = instant_arg("--since", since)
        end = instant_arg("--until", until)
        if end is not None and end < start:
            raise CommandError(f"--until ({until}) is before --since ({since}).")
        try:
            queued = webhook_replay_range(
                actor=Actor.system_for(tenant_obj), endpoint_id=endpoint, since=start, until=end
            )
        except DomainError as exc:
            raise CommandError(f"endpoint {endpoint}: {exc.message}") from None
        window = f"from {since}" + (f" to {until}" if until else " to now")
        self.stdout.write(
            f"Queued {queued} deliver{'y' if queued == 1 else 'ies'} for endpoint {endpoint} "
            f"of tenant '{tenant_obj.slug}' ({window})."
        )
