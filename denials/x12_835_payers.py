"""Which of the tenant's payers an 835 transaction comes from.

In order: the upload's payer (`payer_code` option) for every transaction; else the payer whose
`x12_payer_id` equals N1*PR04 (the payer identifier), else TRN03 (the originating company,
often "1" + the payer's tax id); else the payer whose name is exactly N1*PR02. No payer, or two
payers at the same step, refuses the file naming what was looked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.parsers import FileRejected

from .x12_835 import TENANT_OPTION


@dataclass(frozen=True)
class _Payer:
    code: str
    name: str
    x12_payer_id: str


class PayerResolver:
    """The payers of one tenant, looked up by the identifiers an 835 gives."""

    def __init__(self, payers: list[_Payer], override: str = "") -> None:
        self.payers = payers
        self.override = override

    @classmethod
    def for_tenant(cls, tenant_id: int | None, override: str = "") -> PayerResolver:
        """The tenant's payers (read once per file); `override` must be one of their codes."""
        from billing.models import Payer

        payers = []
        if tenant_id is not None:
            payers = [
                _Payer(code, name, x12)
                for code, name, x12 in Payer.objects.filter(tenant_id=tenant_id)
                .order_by("code")
                .values_list("code", "name", "x12_payer_id")
            ]
        override = (override or "").strip()
        codes = {p.code for p in payers}
        if override and tenant_id is not None and override not in codes:
            # `--payer acme` for ACME: the one code that differs only in case
            same = [c for c in codes if c.upper() == override.upper()]
            override = same[0] if len(same) == 1 else override
        if override and tenant_id is not None and override not in codes:
            raise FileRejected(
                f"the payer code '{override[:30]}' given with the upload is not one of this "
                "tenant's payers; give an existing payer code, or none to read it from the file"
            )
        return cls(payers, override)

    @classmethod
    def for_options(cls, options: dict) -> PayerResolver:
        """From the batch options: `payer_code` (override) and `_tenant_id`."""
        options = options or {}
        tenant_id = options.get(TENANT_OPTION)
        try:
            tenant_id = int(tenant_id) if tenant_id not in (None, "") else None
        except (TypeError, ValueError):
            tenant_id = None
        return cls.for_tenant(tenant_id, str(options.get("payer_code") or ""))

    def resolve(self, *, payer_id: str, trace_originator: str, name: str, where: str) -> str:
        """The payer code of one transaction; FileRejected when none or several fit."""
        if self.override:
            return self.override
        steps = (
            ("its payer identifier N1*PR04", payer_id, lambda p: p.x12_payer_id == payer_id),
            (
                "its trace originator TRN03",
                trace_originator,
                lambda p: p.x12_payer_id == trace_originator,
            ),
            ("its payer name N1*PR02", name, lambda p: p.name.strip() == name),
        )
        for label, value, fits in steps:
            if not value:
                continue
            found = [p.code for p in self.payers if fits(p)]
            if len(found) > 1:
                raise FileRejected(
                    f"{where}: {label} '{value[:60]}' fits several payers ({', '.join(found)}); "
                    "give each payer its own X12 payer id, or upload with the payer's code"
                )
            if found:
                return found[0]
        looked = (
            ", ".join(f"{label} '{value[:60]}'" for label, value, _ in steps if value)
            or "no payer identifier, trace originator or name at all"
        )
        raise FileRejected(
            f"{where}: no payer of this tenant fits the 835's payer ({looked}); set the payer's "
            "X12 payer id to the file's N1*PR04 or TRN03, or upload with the payer's code "
            "(ingest --payer CODE); nothing was loaded"
        )
