"""manage.py audit_key_rotated: after rotating AUDIT_CHAIN_KEY, mark every chain with the new key.

Run once, right after every process was restarted with the new AUDIT_CHAIN_KEY and the old one
in AUDIT_CHAIN_PREVIOUS_KEYS (docs/operations.md): each tenant's chain gets an AUDIT_KEY_ROTATED
entry signed with the new key, which pins everything before it.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_key_rotated


class Command(BaseCommand):
    help = "Append AUDIT_KEY_ROTATED (signed with the current key) to every tenant's audit chain."

    def handle(self, *args, **opts):
        if not getattr(settings, "AUDIT_CHAIN_PREVIOUS_KEYS", []):
            raise CommandError(
                "AUDIT_CHAIN_PREVIOUS_KEYS is empty: set it to the replaced key(s) before running "
                "this (see docs/operations.md, Rotating AUDIT_CHAIN_KEY)."
            )
        count = audit_key_rotated()
        self.stdout.write(f"AUDIT_KEY_ROTATED appended to {count} chain(s).")
