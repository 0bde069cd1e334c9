"""The 837P export through the API, the screen and the command (issue 13 item 3)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from core import scopes as S
from core.models import AuditEntry
from denials.models import Claim, Interchange837
from tests.denials.builders_x837 import claim
from tests.denials.x12_validate import pyx12_validate
from tests.envelope import error_envelope


def _clms(text: str) -> list[str]:
    return [s.split("*")[1] for s in text.split("~") if s.startswith("CLM*")]


# --- API ---------------------------------------------------------------------------------------


def test_api_export_answers_the_file_and_submits_the_claims(world):
    # given two BUILT claims
    a, b = claim(world.tenant), claim(world.tenant, member_id="M002")
    # when operations export them by number
    r = world.client(S.Role.OPERATIONS).get(f"/api/claims/837?claim={a.number}&claim={b.number}")
    # then the answer is the interchange file, valid for pyx12, carrying both claims
    assert r.status_code == 200
    assert r["Content-Type"] == "application/edi-x12"
    assert r["Content-Disposition"] == 'attachment; filename="837P-000000001.x12"'
    text = r.content.decode()
    assert _clms(text) == [a.number, b.number]
    assert pyx12_validate(text)[0]
    # and both claims are SUBMITTED; the PHI export is audited
    assert set(Claim.objects.values_list("status", flat=True)) == {"SUBMITTED"}
    assert AuditEntry.objects.filter(action="phi.export", tenant=world.tenant).count() == 1


def test_api_export_all_built(world):
    claim(world.tenant)
    claim(world.tenant, status=Claim.Status.SUBMITTED)
    r = world.client(S.Role.OWNER).get("/api/claims/837?all_built=true")
    assert r.status_code == 200 and len(_clms(r.content.decode())) == 1
    # a second call finds nothing left: a 400 saying so
    err = error_envelope(world.client(S.Role.OWNER).get("/api/claims/837?all_built=true"), 400)
    assert err["code"] == "nothing_to_export"


def test_api_export_refuses_not_built_claims_naming_each(world):
    ok = claim(world.tenant)
    sent = claim(world.tenant, status=Claim.Status.SUBMITTED)
    r = world.client(S.Role.OWNER).get(
        f"/api/claims/837?claim={ok.number}&claim={sent.number}&claim=CLM-404"
    )
    err = error_envelope(r, 400)
    assert err["details"]["claims"] == {
        sent.number: "it is SUBMITTED; only BUILT claims are exported",
        "CLM-404": "no such claim",
    }
    ok.refresh_from_db()
    assert ok.status == "BUILT" and not Interchange837.objects.exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "claim"),
        ("?all_built=yes", "all_built"),
        ("?claim=" + "X" * 21, "claim"),
        ("?claim=", "claim"),
        ("?all_built=true&claim=CLM-1", "all_built"),
    ],
)
def test_api_export_bad_query_is_a_400_naming_the_field(world, query, field):
    err = error_envelope(world.client(S.Role.OWNER).get(f"/api/claims/837{query}"), 400)
    assert field in err["details"]


def test_api_export_needs_claims_write(world):
    c = claim(world.tenant)
    err = error_envelope(world.client(S.Role.VIEWER).get(f"/api/claims/837?claim={c.number}"), 403)
    assert err["code"] == "permission_denied"
    c.refresh_from_db()
    assert c.status == "BUILT"


def test_api_interchanges_list_and_file(world):
    # given one export done
    c = claim(world.tenant)
    first = world.client(S.Role.OWNER).get(f"/api/claims/837?claim={c.number}").content
    # when a viewer lists the interchanges
    body = world.client(S.Role.VIEWER).get("/api/claims/interchanges").json()
    # then it shows its numbers, totals and where to fetch the file
    [row] = body["results"]
    assert row["interchange_control_number"] == "000000001" and row["claim_count"] == 1
    assert row["total_billed"] == "100.00" and row["created_by"] == "alpha-owner"
    # and the file is the same bytes as the export answered
    again = world.client(S.Role.VIEWER).get(row["file"])
    assert again.status_code == 200 and again.content == first
    # another tenant's member does not find it
    error_envelope(world.client("outsider").get(row["file"]), 404)


# --- screen ------------------------------------------------------------------------------------


def test_screen_lists_built_claims_and_exports_the_chosen_ones(world):
    a, b = claim(world.tenant), claim(world.tenant)
    client = world.client(S.Role.OPERATIONS)
    page = client.get("/claims/export-837/").content.decode()
    assert a.number in page and b.number in page and "data-confirm=" in page
    # when operations export one of them
    r = client.post("/claims/export-837/", {"claim": [a.number]}, follow=True)
    # then it leaves the list, the interchange is listed with a download link
    page = r.content.decode()
    assert "Interchange 000000001 written: 1 claims" in page
    assert f'data-claim="{a.number}"' not in page and f'data-claim="{b.number}"' in page
    x = Interchange837.objects.get()
    assert f"/claims/export-837/{x.pk}/file/" in page
    download = client.get(f"/claims/export-837/{x.pk}/file/")
    assert download.content.decode() == x.content and _clms(x.content) == [a.number]


def test_screen_refusal_names_the_claim_and_exports_nothing(world):
    sent = claim(world.tenant, status=Claim.Status.SUBMITTED)
    r = world.client(S.Role.OWNER).post("/claims/export-837/", {"claim": [sent.number]})
    assert r.status_code == 400
    assert "only BUILT claims are exported" in r.content.decode()
    assert not Interchange837.objects.exists()


def test_screen_viewer_sees_no_export_button(world):
    claim(world.tenant)
    page = world.client(S.Role.VIEWER).get("/claims/export-837/").content.decode()
    assert "Export chosen claims" not in page and "needs the scope claims.write" in page


# --- command -----------------------------------------------------------------------------------


def test_command_export_837_writes_the_file(world, tmp_path):
    a = claim(world.tenant)
    out = tmp_path / "out.x12"
    err = io.StringIO()
    call_command("export_837", "--tenant", "alpha", "--all-built", "-o", str(out), stderr=err)
    assert _clms(out.read_text()) == [a.number]
    assert "interchange 000000001: 1 claims, 100.00 billed" in err.getvalue()
    a.refresh_from_db()
    assert a.status == "SUBMITTED"


def test_command_export_837_to_stdout_by_claim(world):
    a = claim(world.tenant)
    out = io.StringIO()
    call_command(
        "export_837", "--tenant", "alpha", "--claim", a.number, stdout=out, stderr=io.StringIO()
    )
    assert out.getvalue().startswith("ISA*") and _clms(out.getvalue()) == [a.number]


def test_command_export_837_refusal_is_one_line(world):
    with pytest.raises(CommandError, match="CLM-404"):
        call_command("export_837", "--tenant", "alpha", "--claim", "CLM-404", stderr=io.StringIO())
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        call_command("export_837", "--tenant", "nope", "--all-built", stderr=io.StringIO())


def test_api_export_refuses_a_cross_site_browser_request(world):
    # given a BUILT claim and a signed-in user whose browser is sent from another site
    c = claim(world.tenant)
    r = world.client(S.Role.OWNER).get(
        f"/api/claims/837?claim={c.number}", HTTP_SEC_FETCH_SITE="cross-site"
    )
    # then nothing is exported
    assert error_envelope(r, 403)["code"] == "cross_site"
    c.refresh_from_db()
    assert c.status == "BUILT"


def test_api_export_of_a_member_granted_one_payer_takes_only_that_payers_claims(world):
    # given BUILT claims of payers ACME and OTHER, and operations granted ACME only
    from tests.billing.exception_builders import narrow
    from tests.denials.builders_x837 import payer

    narrow(world, S.Role.OPERATIONS, payer(world.tenant, "ACME"))
    mine, hidden = claim(world.tenant), claim(world.tenant, payer_code="OTHER")
    ops = world.client(S.Role.OPERATIONS)
    # when they name OTHER's claim, it is unknown to them: a 400 naming it, nothing exported
    refused = ops.get(f"/api/claims/837?claim={hidden.number}")
    assert refused.status_code == 400
    assert hidden.number in refused.content.decode() and "no such claim" in refused.content.decode()
    assert not Interchange837.objects.exists()
    # and exporting all built claims answers a file of ACME's claim only
    r = ops.get("/api/claims/837?all_built=true")
    assert r.status_code == 200
    assert _clms(r.content.decode()) == [mine.number]
    # so OTHER's claim stays BUILT for a member who may see it
    hidden.refresh_from_db()
    mine.refresh_from_db()
    assert (mine.status, hidden.status) == ("SUBMITTED", "BUILT")
