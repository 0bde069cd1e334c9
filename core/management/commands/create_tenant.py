"""manage.py create_tenant SLUG [--name NAME] [--owner USERNAME] [--password PW]"""

from django.core.management.base import BaseCommand, CommandError

from core import scopes as S
from core.actors import Actor
from core.exceptions import DomainError
from core.services import membership_add, tenant_create, user_ensure


class Command(BaseCommand):
    help = "Create a tenant (with its policy and audit chain), optionally with an owner."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--owner", help="username of the owner (created if missing)")
        parser.add_argument("--password", help="password for a new or existing owner")

    def handle(self, *args, slug, name, owner, password, **opts):
        try:
            tenant = tenant_create(slug=slug, name=name, actor_label="manage.py create_tenant")
            if owner:
                user = user_ensure(username=owner, password=password)
                membership_add(actor=Actor.system_for(tenant), user=user, role=S.Role.OWNER)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created tenant {tenant.slug}" + (f" owned by {owner}" if owner else ""))
