"""Who is acting: a user in a tenant, possibly through an API token, or the system itself."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
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

        codenames = UserObjectPermission.objects.filter(
            user=self.user,
            content_type=ContentType.objects.get_for_model(Tenant),
            object_pk=str(self.tenant.pk),
        ).values_list("permission__codename", flat=True)
        granted = frozenset(CODENAME_TO_SCOPE[c] for c in codenames if c in CODENAME_TO_SCOPE)
        if self.token is not None:
            granted &= frozenset(self.token.scopes)
        return granted

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
