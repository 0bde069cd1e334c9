"""A real priced run read back through the API and the run page (issue 18): what rating wrote,
not rows a test stored, reaches the partner system and the operator."""

from __future__ import annotations

from datetime import date

from core import scopes as S
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.services.runs import prepaid_run_execute, prepaid_run_trigger

OLD = date(2020, 1, 1)


def test_a_rate_change_reaches_the_items_api_and_the_run_page_with_its_breakdown(world):
    # DATA 30.00 / 30 days, 60.00 from Jan 6; VAT 20 %; an automatic 10 % "Loyalty" discount;
    # a post-rated service ACTIVE from Jan 1, run as of Jan 11
    t = world.tenant
    acc = b.account(t)
    b.wallet(t, acc, balance="100.00")
    data = b.product(t, "DATA")
    data.tax_class = pb.tax_class(t, "STD", ((OLD, "20"),))
    data.save(update_fields=["tax_class"])
    pb.price_plan(t, data, ((OLD, "30.00", 30), (date(2026, 1, 6), "60.00", 30)))
    pb.discount(t, code="LOYAL", name="Loyalty", kind="PERCENT", value="10", product=data)
    b.service(t, acc, rating="POST")
    run = prepaid_run_trigger(
        actor=world.actor(), as_of=date(2026, 1, 11), accounts=[acc.number], enqueue=False
    )
    run = prepaid_run_execute(run_id=run.pk)

    client = world.client(S.Role.OWNER)
    body = client.get(f"/api/prepaid-runs/{run.pk}/items").json()["results"]
    got = [
        (i["start"], i["end"], i["net"], i["discount"], i["vat"], i["gross"], i["reasons"])
        for i in body
    ]
    # 5 days x 1.00 = 5.00, 10 % 0.50, VAT 20 % of 4.50 = 0.90 -> 5.40;
    # 5 days x 2.00 = 10.00, 10 % 1.00, VAT 1.80 -> 10.80
    assert got == [
        ("2026-01-01", "2026-01-06", "5.00", "0.50", "0.90", "5.40",
         ["ends 2026-01-06: price plan rate changes"]),
        ("2026-01-06", "2026-01-11", "10.00", "1.00", "1.80", "10.80",
         ["starts 2026-01-06: price plan rate changes"]),
    ]  # fmt: skip
    assert [d["name"] for i in body for d in i["discounts"]] == ["Loyalty", "Loyalty"]

    page = client.get(f"/wallets/runs/{run.pk}/").content.decode()
    assert "Ends 2026-01-06 because the price plan rate changes" in page
    assert "Starts 2026-01-06 because the price plan rate changes" in page
    assert "Loyalty" in page and "$10.80" in page and "$5.40" in page
