"""manage.py create_api_token --tenant SLUG --user USERNAME --scopes a,b [--name N] [--days D]"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a member; prints the key once (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--user", required=True)
        parser.add_argument("--scopes", required=True, help="comma-separated scopes")
        parser.add_argument("--name", default="created with manage.py")
        parser.add_argument("--days", type=int, help="expires after this many days")

    def handle(self, *args, tenant, user, scopes, name, days, **opts):
        t = tenant_or_error(tenant)
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"No user '{user}'.")
        expires = timezone.now() + timedelta(days=days) if days else None
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        try:
            token, raw = api_token_create(
                actor=Actor(tenant=t, user=account), name=name, scopes=wanted, expires_at=expires
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
        self.stderr.write(f"token {token.prefix} for {user} in {t.slug}: {', '.join(token.scopes)}")
