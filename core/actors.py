"""Who is acting: a user in a tenant, possibly through an API token, or the system itself."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from guardian.models import UserObjectPermission

from core.exceptions import ScopeDenied
from core.scopes import ALL_SCOPES, CODENAME_TO_SCOPE, SCOPE_LABELS

if TYPE_CHECKING:
    from core.models import ApiToken, Tenant


class Actor:
    """The subject of every service call; its scopes are the tenant grants (narrowed by a token)."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        user=None,
        token: ApiToken | None = None,
        system: bool = False,
    ) -> None:
        self.tenant = tenant
        self.user = user
        self.token = token
        self.system = system

    @classmethod
    def system_for(cls, tenant: Tenant) -> Actor:
        """The actor of scheduled jobs and operator commands: every scope, no user."""
        return cls(tenant=tenant, system=True)

    @cached_property
    def scopes(self) -> frozenset[str]:
        """The scopes in force for this actor in this tenant."""
        if self.system:
            return frozenset(ALL_SCOPES)
        if self.user is None or not self.user.is_active:
            return frozenset()
        from core.models import Tenant

        tenant_type = ContentType.objects.get_for_model(Tenant).pk
        codenames = self.object_permissions.get((tenant_type, str(self.tenant.pk)), ())
        granted = frozenset(CODENAME_TO_SCOPE[c] for c in codenames if c in CODENAME_TO_SCOPE)
        if self.token is not None:
            granted &= frozenset(self.token.scopes)
        return granted

    @cached_property
    def object_permissions(self) -> dict[tuple[int, str], list[str]]:
        """The user's object permissions (this tenant's scopes, object grants) by (type, pk).

        One query serves the scopes and every model's grants (core.selectors.granted_ids): an
        API request needs both, and the actor lives for one request or one task.
        """
        from core.models import Tenant

        if self.user is None:
            return {}
        tenant_type = ContentType.objects.get_for_model(Tenant)
        rows = (
            UserObjectPermission.objects.filter(user=self.user)
            .filter(
                Q(content_type=tenant_type, object_pk=str(self.tenant.pk))
                | ~Q(content_type=tenant_type)
            )
            .values_list("content_type_id", "object_pk", "permission__codename")
        )
        perms: dict[tuple[int, str], list[str]] = {}
        for type_id, object_pk, name in rows:
            perms.setdefault((type_id, object_pk), []).append(name)
        return perms

    def has(self, scope: str) -> bool:
        """Whether the actor holds a scope."""
        return scope in self.scopes

    def require(self, scope: str) -> None:
        """Refuse with a clear message unless the actor holds the scope."""
        if not self.has(scope):
            raise ScopeDenied(
                f"This action needs the scope '{scope}' ({SCOPE_LABELS.get(scope, scope)}).",
                details={"scope": scope},
            )

    @property
    def label(self) -> str:
        """How the actor is named in the audit trail."""
        if self.system:
            return "system"
        name = self.user.get_username() if self.user else "anonymous"
        return f"{name} via token {self.token.prefix}" if self.token else name

    def __repr__(self) -> str:
        return f"<Actor {self.label} @ {self.tenant.slug}>"
