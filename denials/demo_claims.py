"""Demo data for charges and claims (issue 13, item 13), after billing's payers and members.

A CHARGES file for the demo members (four charges deliberately invalid: an unknown member, a
future service date, a malformed procedure code, a zero amount), and the charges behind the
shared 835 sample (`testdata/x12/835-x12parser-profee.edi`: payer NYSDOH, three claims sharing
the patient control number `PATIENT ACCOUNT NUMBER`, members LL99999L, LL88888L, LL77777L), so
the sample's claim payments find their claims. Every valid charge is then built into claims.
Idempotent: the file is loaded once; building takes only charges not yet on a claim.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from core.actors import Actor
from core.demo import register_demo_loader
from core.models import Tenant

FILENAME = "demo-charges.csv"
SAMPLE_PAYER = ("NYSDOH", "NYSDOH")
SAMPLE_PCN = "PATIENT ACCOUNT NUMBER"
SAMPLE_DAY = "2010-01-01"
# (member id, [(code, modifier, units, amount, service date)]) as the 835 sample pays them
SAMPLE_CLAIMS = [
    (
        "LL99999L",
        [
            ("V2020", "RB", "1", "6.00", SAMPLE_DAY),
            ("V2700", "RB", "1", "2.75", SAMPLE_DAY),
            ("V2103", "RB", "1", "5.50", SAMPLE_DAY),
            ("S0580", "", "2", "20.00", SAMPLE_DAY),
        ],
    ),
    (
        "LL88888L",
        [("V2020", "", "1", "12.00", SAMPLE_DAY), ("V2103", "", "1", "22.00", SAMPLE_DAY)],
    ),
    (
        "LL77777L",
        [
            ("V2020", "RB", "1", "6.00", SAMPLE_DAY),
            ("V2103", "RB", "1", "5.50", "2013-09-17"),
            ("V2700", "RB", "1", "2.75", SAMPLE_DAY),
            ("S0580", "", "1", "20.00", SAMPLE_DAY),
        ],
    ),
]
CODES = [("99213", "95.00"), ("99214", "140.00"), ("36415", "12.00"), ("85025", "28.50")]


def charges_file(today: date) -> bytes:
    """The demo CHARGES file (deterministic for a given day)."""
    from denials.ingest_charges import COLUMNS

    rnd = random.Random(13)  # noqa: S311 (demo data, not security)
    rows = []
    for n in range(1, 25):
        member = f"M{n:06d}"
        payer = "NORTHWIND" if n % 2 == 0 else "BLUEPEAK"
        day = today - timedelta(days=rnd.randint(5, 60))
        code, amount = rnd.choice(CODES)
        claim_number = f"DEMO-PCN-{n:04d}" if n % 5 == 0 else ""
        rows.append(
            [
                f"DEMO-CH-{n:04d}",
                claim_number,
                member,
                payer,
                day.isoformat(),
                code,
                "",
                "1",
                amount,
                "",
            ]
        )
        if claim_number:  # a second line on the same claim, another day
            later = day + timedelta(days=2)
            rows.append(
                [
                    f"DEMO-CH-{n:04d}B",
                    claim_number,
                    member,
                    payer,
                    later.isoformat(),
                    "36415",
                    "",
                    "1",
                    "12.00",
                    "",
                ]
            )
    future = (today + timedelta(days=10)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    rows += [
        ["DEMO-BAD-1", "", "M999999", "NORTHWIND", yesterday, "99213", "", "1", "95.00", ""],
        ["DEMO-BAD-2", "", "M000002", "NORTHWIND", future, "99213", "", "1", "95.00", ""],
        ["DEMO-BAD-3", "", "M000004", "NORTHWIND", yesterday, "9921", "", "1", "95.00", ""],
        ["DEMO-BAD-4", "", "M000006", "NORTHWIND", yesterday, "99213", "", "1", "0", ""],
    ]
    i = 0
    for member, lines in SAMPLE_CLAIMS:
        for code, modifier, units, amount, day in lines:
            i += 1
            rows.append(
                [
                    f"DEMO-835-{i:02d}",
                    SAMPLE_PCN,
                    member,
                    SAMPLE_PAYER[0],
                    day,
                    code,
                    modifier,
                    units,
                    amount,
                    "",
                ]
            )
    # plain values (no comma, quote or formula sign): written as is, an input file like an upload
    return "".join(",".join(r) + "\n" for r in [list(COLUMNS), *rows]).encode()


def _sample_payer_and_members(tenant: Tenant) -> None:
    from billing.models import Member, Payer

    code, name = SAMPLE_PAYER
    Payer.objects.get_or_create(tenant=tenant, code=code, defaults={"name": name})
    for n, (member, _) in enumerate(SAMPLE_CLAIMS):
        Member.objects.get_or_create(
            tenant=tenant,
            external_id=member,
            defaults={
                "first_name": "Submitted",
                "last_name": f"Sample {n + 1}",
                "birth_date": date(1970, 1, 1 + n),
            },
        )


def load_claims_demo(tenant: Tenant) -> str:
    """The demo charges file, loaded and validated, then claims built from the valid charges."""
    from denials.services.claims import claims_build_all_valid
    from ingestion import services
    from ingestion.models import Artifact

    _sample_payer_and_members(tenant)
    actor = Actor.system_for(tenant)
    loaded = "charges already loaded"
    if not Artifact.objects.filter(tenant=tenant, kind="CHARGES", filename=FILENAME).exists():
        batch = services.batch_ingest_file(
            actor=actor,
            kind="CHARGES",
            filename=FILENAME,
            content=charges_file(date.today()),
            enqueue=False,
        )
        batch = services.batch_run_inline(batch_id=batch.pk)
        loaded = f"{FILENAME}: {batch.success} charges loaded, {batch.error} errors"
    claims = claims_build_all_valid(actor=actor, tenant=tenant)
    return f"{loaded}; {len(claims)} claims built"


def register() -> None:
    """Add the charges and claims part of the demo (after billing's payers and members)."""
    register_demo_loader("claims-charges", 40, load_claims_demo)
