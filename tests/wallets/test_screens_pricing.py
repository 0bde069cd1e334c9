"""Issue 18 on the wallet screens: a run's page and a wallet's page show each rated item's
breakdown (net, named discounts, VAT rate and VAT, gross, billed or not, why it was split, the
bundle component, the early-cancellation penalty in words), and a run whose wallet definition
does not list prepaid billing says so with its not-billed count and total.

The items are written directly (breakdown fields set) so the screens are checked apart from
the chunks that rate them."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import scopes as S
from tests.wallets import builders as b
from tests.wallets import pricing_builders as pb
from wallets.models import PrepaidBillingRun, RatedItem
from wallets.views.common import percent_words, reason_words

pytestmark = pytest.mark.django_db

D = Decimal


def _text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    assert response.status_code == 200, response.status_code
    raw = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", htmllib.unescape(raw))


def _row(response, item: RatedItem) -> str:
    """One item's table row, as text."""
    body = response.content.decode()
    m = re.search(rf'<tr id="item-{item.pk}".*?</tr>', body, re.S)
    assert m, f"item {item.pk} not on the page"
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", m.group(0))))


_ident = iter(range(1, 10_000))


def _item(run, svc, **kw) -> RatedItem:
    """A rated item with its breakdown; gross (amount) = net - discount + vat."""
    net, discount, vat = D(kw.pop("net")), D(kw.pop("discount", "0")), D(kw.pop("vat", "0"))
    gross = net - discount + vat
    fields = {
        "tenant": run.tenant,
        "run": run,
        "account": svc.subscription.account,
        "service": svc,
        "kind": "SERVICE",
        "start": date(2026, 11, 1),
        "end": date(2026, 12, 1),
        "active_days": 30,
        "price_per_period": D("30.00"),
        "period_days": 30,
        "sign": "POSITIVE" if gross >= 0 else "NEGATIVE",
        "identity": f"test-{next(_ident)}",
        "state": "BILLED",
        "net": net,
        "discount": discount,
        "vat": vat,
        "gross": gross,
        "amount": gross,
    }
    fields.update(kw)
    if fields["state"] == "BILLED":
        fields.setdefault("debited", gross)
    return RatedItem.objects.create(**fields)


@pytest.fixture
def scene(world):
    """One account with a priced service and a bundle, and a finished run of three items."""
    t = world.tenant
    acc = b.account(t, "PP-PRICE")
    wallet = b.wallet(t, acc, balance="200.00")
    svc = b.service(t, acc, product_code="CARE")
    pack = pb.bundle(t, "CARE-PACK", "BOTH", ["CARE-LAB"])
    bundled = b.service(t, acc, product_code="CARE-PACK", subscription=svc.subscription)
    run = PrepaidBillingRun.objects.create(
        tenant=t, as_of=date(2026, 12, 1), status=PrepaidBillingRun.Status.COMPLETED
    )
    discounted = _item(
        run,
        svc,
        start=date(2026, 11, 15),
        end=date(2026, 12, 1),
        active_days=16,
        price_per_period=D("33.00"),
        rate_from=date(2026, 11, 15),
        net=D("17.60"),
        discount=D("6.76"),
        vat_rate=D("21.0000"),
        vat=D("2.28"),
        discounts=[
            {
                "code": "LOYAL10",
                "name": "Loyalty discount",
                "kind": "PERCENT",
                "value": "10",
                "amount": "1.76",
            },
            {
                "code": "GOODWILL",
                "name": "Goodwill credit",
                "kind": "FIXED",
                "value": "5.00",
                "amount": "5.00",
            },
        ],
        reasons=[
            "starts 2026-11-15: price plan rate changes",
            "starts 2026-11-15: VAT rate changes",
        ],
    )
    component = _item(
        run,
        bundled,
        component=pack.components.get().component,
        net=D("12.00"),
        vat_rate=D("20.0000"),
        vat=D("2.40"),
        state="NOT_BILLED",
        reasons=["ends 2026-11-20: discount SPRING ends"],
    )
    penalty = _item(
        run,
        svc,
        kind="PENALTY_EARLY_CANCELLATION",
        start=date(2026, 11, 20),
        end=date(2027, 2, 1),
        active_days=0,
        price_per_period=None,
        period_days=None,
        net=D("50.00"),
        vat_rate=D("20.5000"),
        vat=D("10.25"),
        reasons=["cancelled 2026-11-20, before the binding period ends 2027-02-01"],
    )
    return {
        "wallet": wallet,
        "run": run,
        "discounted": discounted,
        "component": component,
        "penalty": penalty,
        "svc": svc,
    }


# --- the run's page ---------------------------------------------------------------------------


def test_run_page_shows_net_each_named_discount_vat_and_gross(world, scene):
    response = world.client(S.Role.VIEWER).get(f"/wallets/runs/{scene['run'].pk}/")
    row = _row(response, scene["discounted"])
    assert "Service period" in row
    assert "2026-11-15 → 2026-12-01" in row and " 16 " in row
    assert "$33.00 / 30 d" in row and "rate from 2026-11-15" in row
    assert "Net $17.60" in row
    assert "Loyalty discount (LOYAL10, 10 %) -$1.76" in row
    assert "Goodwill credit (GOODWILL, $5.00 fixed) -$5.00" in row
    assert "Discount -$6.76" in row  # two discounts: their total too
    assert "VAT 21 % $2.28" in row
    assert "$13.12" in row  # gross = 17.60 - 6.76 + 2.28
    assert "Billed" in row and "Not billed" not in row


def test_run_page_says_why_an_item_was_split_in_words(world, scene):
    response = world.client(S.Role.VIEWER).get(f"/wallets/runs/{scene['run'].pk}/")
    row = _row(response, scene["discounted"])
    # two changes on the same day read as one sentence
    assert "Starts 2026-11-15 because the price plan rate changes and the VAT rate changes" in row
    assert "Ends 2026-11-20 because discount SPRING ends" in _row(response, scene["component"])


def test_run_page_names_the_bundle_component_and_the_item_state(world, scene):
    response = world.client(S.Role.VIEWER).get(f"/wallets/runs/{scene['run'].pk}/")
    row = _row(response, scene["component"])
    assert "component CARE-LAB" in row
    assert "Net $12.00" in row and "VAT 20 % $2.40" in row and "$14.40" in row
    assert "Not billed" in row
    # no discount: no discount line, no total
    assert "Discount" not in row
    body = response.content.decode()
    assert f'id="item-{scene["component"].pk}" data-state="NOT_BILLED"' in body


def test_run_page_shows_the_penalty_in_words(world, scene):
    response = world.client(S.Role.VIEWER).get(f"/wallets/runs/{scene['run'].pk}/")
    row = _row(response, scene["penalty"])
    assert "Early-cancellation penalty" in row
    assert "PENALTY_EARLY_CANCELLATION" not in row
    assert "2026-11-20 → 2027-02-01" in row
    assert "Net $50.00" in row and "VAT 20.5 % $10.25" in row and "$60.25" in row
    assert "Cancelled 2026-11-20, before the binding period ends 2027-02-01" in row


def test_run_page_reads_items_in_a_fixed_number_of_queries(world, scene, django_assert_num_queries):
    """No query per item: service, account and component come with the items."""
    client = world.client(S.Role.VIEWER)
    url = f"/wallets/runs/{scene['run'].pk}/"
    client.get(url)  # warm the session and the caches

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    pack = b.product(world.tenant, "CARE-LAB")
    for n in range(12):
        _item(
            scene["run"],
            scene["svc"],
            start=date(2026, 10, 1 + n),
            end=date(2026, 10, 2 + n),
            component=pack,
            net=D("1.00"),
            discounts=[
                {"code": "X", "name": "X", "kind": "PERCENT", "value": "1", "amount": "0.00"}
            ],
        )
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


# --- the not-debited notice -------------------------------------------------------------------


def test_run_without_prepaid_billing_as_a_debit_cause_says_so_with_the_not_billed_total(
    world, scene
):
    definition = pb.wallet_definition(world.tenant, ("USAGE", "MANUAL"), code="WD-USAGE-ONLY")
    run = scene["run"]
    run.wallet_definition = definition
    run.debit_causes = ["USAGE", "MANUAL"]
    run.save()
    # the run's other two items are left not billed too
    RatedItem.objects.filter(run=run).update(state="NOT_BILLED", debited=0)

    text = _text(world.client(S.Role.VIEWER).get(f"/wallets/runs/{run.pk}/"))
    assert (
        "Prepaid billing is not a debit cause of wallet definition WD-USAGE-ONLY: "
        "items were rated and left not billed." in text
    )
    # 13.12 + 14.40 + 60.25
    assert "3 items not billed, $87.77 in all" in text
    assert "the definition debits for: usage, manual" in text.lower()
    assert "Not billed 3 items · $87.77" in text


def test_run_that_debits_prepaid_billing_shows_no_notice(world, scene):
    run = scene["run"]
    text = _text(world.client(S.Role.VIEWER).get(f"/wallets/runs/{run.pk}/"))
    assert "is not a debit cause" not in text  # no definition: every cause debits
    assert "Not billed 1 item · $14.40" in text

    run.wallet_definition = pb.wallet_definition(world.tenant, code="WD-ALL")
    run.debit_causes = ["PREPAID_BILLING", "USAGE", "MANUAL"]
    run.save()
    text = _text(world.client(S.Role.VIEWER).get(f"/wallets/runs/{run.pk}/"))
    assert "is not a debit cause" not in text
    assert "Wallet definition WD-ALL: debits for prepaid billing, usage, manual" in text


# --- the wallet's page ------------------------------------------------------------------------


def test_wallet_page_lists_the_accounts_recent_items_with_their_breakdown(world, scene):
    other = b.service(world.tenant, b.account(world.tenant, "PP-OTHER"))
    stranger = _item(scene["run"], other, net=D("99.00"))
    response = world.client(S.Role.VIEWER).get(f"/wallets/{scene['wallet'].pk}/")
    body = response.content.decode()
    assert 'id="wallet-items"' in body
    row = _row(response, scene["discounted"])
    assert f"#{scene['run'].pk}" in row
    assert "Loyalty discount (LOYAL10, 10 %) -$1.76" in row and "VAT 21 % $2.28" in row
    assert "$13.12" in row
    assert "Early-cancellation penalty" in _row(response, scene["penalty"])
    assert "component CARE-LAB" in _row(response, scene["component"])
    assert f'id="item-{stranger.pk}"' not in body  # another account's item


def test_wallet_page_without_items_says_so(world):
    w = b.wallet(world.tenant, b.account(world.tenant, "PP-NONE"), balance="5.00")
    text = _text(world.client(S.Role.VIEWER).get(f"/wallets/{w.pk}/"))
    assert "No item rated yet for this account." in text


def test_wallet_page_shows_the_latest_items_only(world, scene):
    from wallets.views.wallets import RECENT_ITEMS

    for n in range(RECENT_ITEMS):
        _item(
            scene["run"],
            scene["svc"],
            start=date(2026, 9, 1),
            end=date(2026, 9, 2 + n),
            net=D("1.00"),
        )
    response = world.client(S.Role.VIEWER).get(f"/wallets/{scene['wallet'].pk}/")
    body = response.content.decode()
    table = body[
        body.index('id="wallet-items"') : body.index("</table>", body.index("wallet-items"))
    ]
    assert table.count('<tr id="item-') == RECENT_ITEMS
    assert f"the latest {RECENT_ITEMS} shown" in _text(response)


# --- the words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            "starts 2026-12-15: price plan rate changes",
            "Starts 2026-12-15 because the price plan rate changes",
        ),
        ("ends 2026-12-20: discount WELCOME ends", "Ends 2026-12-20 because discount WELCOME ends"),
        (
            "starts 2026-12-15: discount A starts, VAT rate changes",
            "Starts 2026-12-15 because discount A starts and the VAT rate changes",
        ),
        (
            "cancelled 2026-12-01, before the binding period ends 2027-01-01",
            "Cancelled 2026-12-01, before the binding period ends 2027-01-01",
        ),
    ],
)
def test_reasons_read_as_sentences(raw, words):
    assert reason_words(raw) == words


@pytest.mark.parametrize(
    ("rate", "words"),
    [(D("20.0000"), "20 %"), (D("20.5000"), "20.5 %"), (D("0"), "0 %"), ("7.25", "7.25 %")],
)
def test_vat_rates_read_without_trailing_zeros(rate, words):
    assert percent_words(rate) == words
