"""Made-up X12 835 files for the reader's tests (every person, number and payer is made up).

Segments are written with `*` and `:` and translated to the interchange's own separators, so a
test can build interchanges that declare other separators, or lie about them.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE = Path(__file__).parent / "data" / "835-x12parser-profee.edi"


def isa(control: str, *, ele: str = "*", comp: str = ":", term: str = "~") -> str:
    """A fixed-width ISA header (106 characters) declaring the given separators."""
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        "ACMEHEALTH".ljust(15),
        "ZZ",
        "CLINIC".ljust(15),
        "260110",
        "1200",
        "^",
        "00501",
        control,
        "0",
        "P",
        comp,
    ]
    header = ele.join(fields) + term
    assert len(header) == 106, len(header)
    return header


def claim(
    pcn: str = "CLM0001",
    *,
    status: str = "1",
    charge: str = "100",
    paid: str = "80",
    pr: str = "20",
    pccn: str = "PCCN0001",
    member: str = "M0001",
    lines: list[list[str]] | None = None,
    cas: list[str] | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    """A CLP loop; `lines` are SVC loops (lists of segments), default one 99213 line.

    `cas`: claim-level CAS segments (right after CLP); `extra`: segments after NM1*QC (MOA...).
    """
    if lines is None:
        lines = [svc("99213", charge, paid, "20260105", [f"CAS*PR*1*{pr}"] if pr != "0" else [])]
    segs = [
        f"CLP*{pcn}*{status}*{charge}*{paid}*{pr}*12*{pccn}*11",
        *(cas or []),
        f"NM1*QC*1*EXAMPLE*JANE****MI*{member}",
        *(extra or []),
    ]
    for line in lines:
        segs += line
    return segs


def svc(code: str, charge: str, paid: str, day: str, cas: list[str] | None = None) -> list[str]:
    """An SVC loop with its DTM*472 and CAS segments."""
    return [f"SVC*HC:{code}*{charge}*{paid}**1", f"DTM*472*{day}", *(cas or [])]


def transaction(
    claims: list[list[str]],
    *,
    control: str = "0001",
    amount: str | None = None,
    trace: str = "EFT100",
    originator: str = "1999999999",
    payer: str = "ACME HEALTH",
    payer_id: str = "ACME01",
    bpr_date: str = "20260110",
    per: bool = True,
    plb: list[str] | None = None,
) -> list[str]:
    """ST..SE of one payment; BPR02 defaults to the sum of CLP04."""
    if amount is None:
        total = sum(float(c[0].split("*")[4]) for c in claims)
        amount = f"{total:.2f}"
    body = [
        f"ST*835*{control}",
        f"BPR*I*{amount}*C*ACH*CCP*01*111*DA*33*1234567890**01*111*DA*22*{bpr_date}",
        f"TRN*1*{trace}*{originator}",
        "DTM*405*20260110",
        f"N1*PR*{payer}*XV*{payer_id}" if payer_id else f"N1*PR*{payer}",
        "N3*PO BOX 1000",
        "N4*SPRINGFIELD*IL*627010000",
        *(["PER*BL*EDI SUPPORT*TE*8005551212"] if per else []),
        "N1*PE*EXAMPLE CLINIC*XX*1999999995",
        "LX*1",
    ]
    for c in claims:
        body += c
    body += plb or []
    body.append(f"SE*{len(body) + 1}*{control}")
    return body


def interchange(
    transactions: list[list[str]],
    *,
    control: str = "000000101",
    group: str = "101",
    ele: str = "*",
    comp: str = ":",
    term: str = "~",
    newline: str = "\n",
    svc_comp: str | None = None,
) -> str:
    """ISA..IEA around the transactions, written with the given separators.

    `svc_comp`: the component separator the SVC segments really use (to build a file that
    disagrees with its ISA16).
    """
    segs = ["GS*HP*ACMEHEALTH*CLINIC*20260110*1200*" + group + "*X*005010X221A1"]
    for t in transactions:
        segs += t
    segs += [f"GE*{len(transactions)}*{group}", f"IEA*1*{control}"]

    def written(seg: str) -> str:
        inner = svc_comp if svc_comp and seg.startswith("SVC") else comp
        return seg.replace(":", inner).replace("*", ele)

    return (
        isa(control, ele=ele, comp=comp, term=term)
        + newline
        + "".join(written(s) + term + newline for s in segs)
    )


def simple_file(**kwargs) -> bytes:
    """One interchange, one transaction, one claim paid 80.00 of 100.00 (PR-1 20.00)."""
    return interchange([transaction([claim()], **kwargs)]).encode()
