"""manage.py add_member --tenant SLUG --user USERNAME --role ROLE [--password PW]"""

from django.core.management.base import BaseCommand, CommandError

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError
from core.management.commands._base import tenant_or_error
from core.models import TenantMembership
from core.services import membership_add, membership_set_role, user_ensure


class Command(BaseCommand):
    help = "Add a user (created if missing) to a tenant with a role, or change the role."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--user", required=True)
        parser.add_argument("--role", required=True, choices=S.Role.values)
        parser.add_argument("--password")

    def handle(self, *args, tenant, user, role, password, **opts):
        t = tenant_or_error(tenant)
        account = user_ensure(username=user, password=password)
        actor = Actor.system_for(t)
        existing = TenantMembership.objects.filter(tenant=t, user=account).first()
        try:
            if existing is None:
                membership_add(actor=actor, user=account, role=role)
                self.stdout.write(f"Added {user} to {t.slug} as {role}")
            else:
                membership_set_role(actor=actor, membership_id=existing.pk, role=role)
                self.stdout.write(f"{user} is now {role} in {t.slug}")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
