"""The database session engine, saving an existing session in one statement.

`SESSION_SAVE_EVERY_REQUEST` writes each signed-in session on every request (the idle timeout
slides). Django's engine wraps that UPDATE in `transaction.atomic()`: BEGIN, UPDATE, COMMIT,
three round trips. Outside a transaction the UPDATE alone is atomic, so it is sent alone; the
outcome is the same (no row updated: `UpdateError`, as Django's forced update raises).
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.db import DatabaseError, connections, router


class SessionStore(db.SessionStore):
    """Django's database sessions; an update in autocommit is one UPDATE statement."""

    def save(self, must_create: bool = False) -> None:
        """Save the session (a new one as Django does; an existing one by one UPDATE)."""
        if must_create or self.session_key is None:
            return super().save(must_create=must_create)
        using = router.db_for_write(self.model)
        if connections[using].in_atomic_block:  # keep Django's savepoint inside a transaction
            return super().save(must_create=must_create)
        obj = self.create_model_instance(self._get_session())
        try:
            updated = (
                self.model.objects.using(using)
                .filter(session_key=obj.session_key)
                .update(session_data=obj.session_data, expire_date=obj.expire_date)
            )
        except DatabaseError:
            raise UpdateError from None
        if not updated:
            raise UpdateError
        return None
