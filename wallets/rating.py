"""Prepaid identification, rating, debit planning and estimates: pure Python, no Django (SPEC 7).

Periods are half-open [start, end) and `rated_up_to` is the first day not yet rated.

- `rate_service(service, usage, as_of)` identifies what a service owes as of a date and rates it
  into items (one per period, one per usage record), amounts rounded half-up to cents per item.
- `debit_plan(wallet, ratings)` decides, per service in id order with a running available amount,
  whether the service is VALID (debited, capped below the stop-service threshold when the wallet
  restricts) or INVALID (not enough above the minimum balance: nothing debited, nothing rated).
- Pricing (issue 18): `ServiceFacts.pricing` carries the effective-dated price plan rates,
  automatic and ad hoc discounts, VAT rates, bundle components and the early-cancellation
  penalty; a rated period is split wherever one of them changes, and each item keeps
  net, discount (with the discounts applied), VAT rate, VAT and gross (= amount). Without
  `pricing` a service rates at its own price, with no discount and no VAT.
- `debit_plan(..., debit_causes=...)` bills only the items whose cause the active wallet
  definition lists (credits always apply); the others are kept NOT_BILLED.
- `estimate(balance=..., services=..., as_of=...)` turns the daily burn of the VALID, ACTIVE
  services into the days (and the date) the balance lasts, per wallet and per product.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from billing.engine.money import cents

ACTIVE = "ACTIVE"
PRE = "PRE"
POST = "POST"
SERVICE = "SERVICE"
USAGE = "USAGE"
VALID = "VALID"
INVALID = "INVALID"
TO_BE_BILLED = "TO_BE_BILLED"
TO_BE_CREDITED = "TO_BE_CREDITED"
CANCELLED = "CANCELLED"
PENALTY = "PENALTY_EARLY_CANCELLATION"
PERCENT = "PERCENT"
FIXED = "FIXED"
REMAINING_FEES = "REMAINING_FEES"
PREPAID_BILLING = "PREPAID_BILLING"
# bundle pricing models ("" = not a bundle; FIXED bundles rate as one service, like BUNDLE)
BUNDLE = "BUNDLE"
COMPONENTS = "COMPONENTS"
BOTH = "BOTH"
COMPONENT_MODELS = (COMPONENTS, BOTH)  # bundles whose components are rated
FLEXIBLE = (BUNDLE, COMPONENTS, BOTH)  # flexible bundles (FIXED rates as one service)
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class StatePeriod:
    """A stretch of a service's life cycle: [start, end), end None = still open."""

    state: str
    start: date
    end: date | None = None


@dataclass(frozen=True)
class Rate:
    """A price plan rate: `price_per_period` per `period_days`, in force from `effective_from`
    until the next rate (None = the service's own price, in force always)."""

    effective_from: date | None
    price_per_period: Decimal
    period_days: int


@dataclass(frozen=True)
class DiscountFacts:
    """A discount in force on [effective_from, effective_to) (None = open).

    PERCENT: `value` percent of the net; FIXED: `value` per `period_days` (None = the rate's
    period), prorated by ACTIVE days like the price."""

    code: str
    name: str
    kind: str  # "PERCENT" | "FIXED"
    value: Decimal
    effective_from: date
    effective_to: date | None = None
    period_days: int | None = None
    automatic: bool = True  # a product's automatic discount; False = ad hoc (one service)


@dataclass(frozen=True)
class VatRate:
    """A VAT rate in percent, in force from `effective_from` until the next one."""

    effective_from: date
    rate: Decimal


@dataclass(frozen=True)
class ProductPricing:
    """How one product is priced: its rates (empty = the service's own price; a component
    needs rates), its automatic discounts and its tax class's VAT rates (empty = no VAT).

    `code` is the caller's key of the product (the run uses the product id); a component
    item carries it in `Item.component`."""

    code: str
    rates: tuple[Rate, ...] = ()
    discounts: tuple[DiscountFacts, ...] = ()
    vat: tuple[VatRate, ...] = ()


@dataclass(frozen=True)
class Pricing:
    """Everything that prices a service beyond its own price (issue 18)."""

    product: ProductPricing
    bundle_pricing: str = ""  # "" | "FIXED" | "BUNDLE" | "COMPONENTS" | "BOTH"
    # component products, each with its rates for this bundle, else its standalone rates
    components: tuple[ProductPricing, ...] = ()
    ad_hoc: tuple[DiscountFacts, ...] = ()  # this service's ad hoc discounts
    binding_end: date | None = None  # exclusive: a cancellation before it is penalised
    penalty_kind: str = ""  # "" | "REMAINING_FEES" | "FIXED"
    penalty_amount: Decimal | None = None  # FIXED penalties
    penalties_charged: frozenset[date] = frozenset()  # cancellation dates already penalised


@dataclass(frozen=True)
class ServiceFacts:
    """What rating needs to know about a service."""

    id: int
    product: str
    price_per_period: Decimal
    period_days: int
    rating: str  # "PRE" | "POST"
    rated_up_to: date | None
    periods: tuple[StatePeriod, ...]
    pricing: Pricing | None = None  # None: the service's own price, no discount, no VAT


@dataclass(frozen=True)
class UsageFacts:
    """A POSTED usage record of a service."""

    id: int
    service_id: int
    amount: Decimal
    directive: str
    billing_effective_date: date


@dataclass(frozen=True)
class AppliedDiscount:
    """A discount in force on an item and the amount it took off."""

    code: str
    name: str
    kind: str
    value: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Item:
    """A rated item: a service period (or a part of one, split where its price, discounts or
    VAT rate change), a usage record (on [d, d+1) of its effective date) or an
    early-cancellation penalty ([cancellation, binding_end)).

    `amount` is the signed gross: net - discount + vat, charges > 0, credits < 0."""

    service_id: int
    kind: str  # "SERVICE" | "USAGE" | "PENALTY_EARLY_CANCELLATION"
    start: date
    end: date  # exclusive
    active_days: int  # ACTIVE days of a service period; 0 for usage and penalties
    amount: Decimal  # signed gross, cents
    price_per_period: Decimal | None = None
    period_days: int | None = None
    usage_id: int | None = None
    net: Decimal | None = None  # None: = amount (no discount, no VAT)
    discount: Decimal = ZERO
    vat_rate: Decimal = ZERO  # percent
    vat: Decimal = ZERO
    discounts: tuple[AppliedDiscount, ...] = ()
    component: str | None = None  # a bundle component's product key
    rate_from: date | None = None  # the rate's effective_from (None = the service's own price)
    reasons: tuple[str, ...] = ()  # why the item starts or ends inside its rated period
    existing_id: int | None = None  # a NOT_BILLED item stored by an earlier run (debit plans)

    @property
    def gross(self) -> Decimal:
        """What the wallet is debited (credited when negative)."""
        return self.amount

    @property
    def net_amount(self) -> Decimal:
        """The undiscounted, untaxed amount."""
        return self.amount if self.net is None else self.net

    @property
    def cause(self) -> str:
        """The wallet definition cause that debits this item."""
        return USAGE if self.kind == USAGE else PREPAID_BILLING

    @cached_property  # read twice per item on the run's hot path (row, ledger link)
    def identity(self) -> str:
        """Unique per service (issue 18): kind, period, component, rate, discounts, VAT rate.

        A penalty is unique per cancellation date."""
        if self.kind == PENALTY:
            return f"{PENALTY}|{self.start.isoformat()}"
        if self.kind == USAGE:
            return f"{USAGE}|{self.usage_id}"
        parts = [
            self.kind,
            self.start.isoformat(),
            self.end.isoformat(),
            self.component or "",
            self.rate_from.isoformat() if self.rate_from else "",
            _codes(sorted(d.code for d in self.discounts)),
            _pct(self.vat_rate),
        ]
        identity = "|".join(parts)
        if len(identity) > IDENTITY_MAX:
            parts[5] = _codes_digest(sorted(d.code for d in self.discounts))
            identity = "|".join(parts)
        return identity


IDENTITY_MAX = 255  # RatedItem.identity's column


def _codes(codes: list[str]) -> str:
    """The discount codes as they read; a code holding a separator (',' or '|') would make two
    different sets read the same, so such a set is written as its digest."""
    if any("," in c or "|" in c or c.startswith("#") for c in codes):
        return _codes_digest(codes)
    return ",".join(codes)


def _codes_digest(codes: list[str]) -> str:
    """A fixed-length stand-in for a set of discount codes (long codes, or several, would not
    fit the identity column; discount codes are up to 60 characters)."""
    return "#" + hashlib.sha256(json.dumps(codes).encode()).hexdigest()[:40]


def _pct(value) -> str:
    return format(Decimal(value).quantize(Decimal("0.0001")), "f")


@dataclass(frozen=True)
class ServiceRating:
    """What a service owes as of a date; `rated_up_to` is the new value when rated.

    `previous_rated_up_to` (beyond the contract, defaulted) is the value before rating, so a
    debit plan can leave it unchanged for an INVALID service and tell "nothing identified".
    """

    service_id: int
    items: tuple[Item, ...]
    rated_up_to: date | None
    previous_rated_up_to: date | None = None

    @property
    def total(self) -> Decimal:
        """The signed sum of the items."""
        return sum((i.amount for i in self.items), ZERO)

    @property
    def identified(self) -> bool:
        """Something to rate: an item, or a period advancing rated_up_to (0 ACTIVE days)."""
        return bool(self.items) or self.rated_up_to != self.previous_rated_up_to


def _merged_active(periods: Sequence[StatePeriod]) -> list[tuple[date, date | None]]:
    """ACTIVE stretches, sorted and merged so an overlap is never counted twice."""
    spans = sorted(((p.start, p.end) for p in periods if p.state == ACTIVE), key=lambda s: s[0])
    merged: list[tuple[date, date | None]] = []
    for start, end in spans:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                new_end = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return merged


def active_days(periods: Sequence[StatePeriod], start: date, end: date) -> int:
    """ACTIVE days in [start, end)."""
    days = 0
    for p_start, p_end in _merged_active(periods):
        lo = max(start, p_start)
        hi = end if p_end is None else min(end, p_end)
        if hi > lo:
            days += (hi - lo).days
    return days


def is_active_on(periods: Sequence[StatePeriod], day: date) -> bool:
    """The service is in an ACTIVE period on `day`."""
    return any(
        p.state == ACTIVE and p.start <= day and (p.end is None or day < p.end) for p in periods
    )


def first_active_day(periods: Sequence[StatePeriod]) -> date | None:
    """The first ACTIVE day, None when the service was never ACTIVE."""
    starts = [p.start for p in periods if p.state == ACTIVE]
    return min(starts) if starts else None


def _lines(service: ServiceFacts, pricing: Pricing) -> list[tuple[str | None, ProductPricing]]:
    """What a service's periods are priced by: (component key or None, its pricing)."""
    main = pricing.product
    if not main.rates or all(r.effective_from is not None for r in main.rates):
        # no plan, or days before the plan's first rate: the service's own price
        own = Rate(None, Decimal(service.price_per_period), service.period_days)
        main = ProductPricing(
            code=main.code, rates=(own, *main.rates), discounts=main.discounts, vat=main.vat
        )
    if pricing.bundle_pricing == COMPONENTS:
        lines = [(c.code, c) for c in pricing.components]
    elif pricing.bundle_pricing == BOTH:
        lines = [(None, main)] + [(c.code, c) for c in pricing.components]
    else:
        lines = [(None, main)]
    if not lines:
        raise ValueError(f"service {service.id}: bundle: expected at least one component")
    for key, line in lines:
        if not line.rates:
            raise ValueError(f"service {service.id}: component {key}: no price plan rate")
    return lines


def _rate_at(service: ServiceFacts, rates: Sequence[Rate], day: date) -> Rate:
    """The rate in force on `day`."""
    found = None
    for r in sorted(rates, key=lambda r: r.effective_from or date.min):
        if r.effective_from is None or r.effective_from <= day:
            found = r
    if found is None:
        raise ValueError(f"service {service.id}: no price plan rate in force on {day.isoformat()}")
    if found.period_days < 1:
        raise ValueError(f"service {service.id}: period_days: expected a whole number >= 1")
    if Decimal(found.price_per_period) < 0:
        raise ValueError(f"service {service.id}: price_per_period: expected an amount >= 0")
    return found


def _vat_at(vat: Sequence[VatRate], day: date) -> Decimal:
    """The VAT rate (percent) in force on `day`; 0 before the first one or with none."""
    rate = Decimal(0)
    for v in sorted(vat, key=lambda v: v.effective_from):
        if v.effective_from <= day:
            rate = Decimal(v.rate)
    return rate


def _in_force(d: DiscountFacts, day: date) -> bool:
    return d.effective_from <= day and (d.effective_to is None or day < d.effective_to)


def _changes(line: ProductPricing, discounts: Sequence[DiscountFacts], day: date) -> list[str]:
    """What changes on `day` (why an item starts or ends there)."""
    said = []
    if any(r.effective_from == day for r in line.rates):
        said.append("price plan rate changes")
    for d in discounts:
        if d.effective_from == day:
            said.append(f"discount {d.code} starts")
        if d.effective_to == day:
            said.append(f"discount {d.code} ends")
    if any(v.effective_from == day for v in line.vat):
        said.append("VAT rate changes")
    return said


def _discounted(
    net: Decimal, days: int, rate: Rate, discounts: Sequence[DiscountFacts]
) -> tuple[Decimal, tuple[AppliedDiscount, ...]]:
    """Percentages first (summed, at most 100 %), then fixed amounts; never below zero."""
    percents = sorted((d for d in discounts if d.kind == PERCENT), key=lambda d: d.code)
    fixed = sorted((d for d in discounts if d.kind != PERCENT), key=lambda d: d.code)
    applied: list[AppliedDiscount] = []
    total_pct = min(sum((Decimal(d.value) for d in percents), Decimal(0)), HUNDRED)
    pct_amount = cents(net * total_pct / HUNDRED)
    taken = ZERO
    for n, d in enumerate(percents):
        if n == len(percents) - 1:
            amount = pct_amount - taken
        else:
            amount = min(cents(net * Decimal(d.value) / HUNDRED), pct_amount - taken)
        taken += amount
        applied.append(AppliedDiscount(d.code, d.name, d.kind, Decimal(d.value), amount))
    remaining = net - pct_amount
    for d in fixed:
        per = d.period_days or rate.period_days
        if per < 1:
            raise ValueError(f"discount {d.code}: period_days: expected a whole number >= 1")
        amount = min(cents(Decimal(d.value) * days / per), remaining)
        remaining -= amount
        applied.append(AppliedDiscount(d.code, d.name, d.kind, Decimal(d.value), amount))
    return net - remaining, tuple(applied)


def _ad_hoc(pricing: Pricing, first: bool) -> tuple[DiscountFacts, ...]:
    """The service's ad hoc discounts that apply to a line: percentages to every line (a share
    of the whole service), fixed amounts once, to the first line (the bundle's own item, or the
    first component), so a bundle rated as several lines is not discounted once per line."""
    if first:
        return pricing.ad_hoc
    return tuple(d for d in pricing.ad_hoc if d.kind == PERCENT)


def _line_items(
    service: ServiceFacts,
    pricing: Pricing,
    component: str | None,
    line: ProductPricing,
    start: date,
    end: date,
    first: bool = True,
) -> list[Item]:
    """The items of one line over the rated period [start, end), split at every change."""
    discounts = [*line.discounts, *_ad_hoc(pricing, first)]
    cuts = {start, end}
    for r in line.rates:
        if r.effective_from is not None and start < r.effective_from < end:
            cuts.add(r.effective_from)
    for d in discounts:
        for day in (d.effective_from, d.effective_to):
            if day is not None and start < day < end:
                cuts.add(day)
    for v in line.vat:
        if start < v.effective_from < end:
            cuts.add(v.effective_from)
    bounds = sorted(cuts)
    items = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        days = active_days(service.periods, a, b)
        if days == 0:
            continue
        rate = _rate_at(service, line.rates, a)
        price = Decimal(rate.price_per_period)
        # multiply before dividing: an exact half cent (1.07 x 14 / 28 = 0.535) must stay exact
        net = cents(price * days / rate.period_days)
        in_force = [d for d in discounts if _in_force(d, a)]
        discount, applied = _discounted(net, days, rate, in_force)
        vat_rate = _vat_at(line.vat, a)
        vat = cents((net - discount) * vat_rate / HUNDRED)
        reasons = []
        if a != start:
            reasons += [f"starts {a.isoformat()}: {c}" for c in _changes(line, discounts, a)]
        if b != end:
            reasons += [f"ends {b.isoformat()}: {c}" for c in _changes(line, discounts, b)]
        items.append(
            Item(
                service_id=service.id,
                kind=SERVICE,
                start=a,
                end=b,
                active_days=days,
                amount=net - discount + vat,
                price_per_period=price,
                period_days=rate.period_days,
                net=net,
                discount=discount,
                vat_rate=vat_rate,
                vat=vat,
                discounts=applied,
                component=component,
                rate_from=rate.effective_from,
                reasons=tuple(reasons),
            )
        )
    return items


class _PeriodRater:
    """Rates a service's periods; its lines are worked out once, at the first period."""

    def __init__(self, service: ServiceFacts) -> None:
        self.service = service
        self.pricing = service.pricing or Pricing(product=ProductPricing(code=service.product))
        self._lines: list[tuple[str | None, ProductPricing]] | None = None

    def items(self, start: date, end: date) -> list[Item]:
        """The items of the rated period [start, end): one per line and per stretch of the same
        rate, discounts and VAT rate, each prorated by its ACTIVE days; none with 0 days."""
        if self._lines is None:
            self._lines = _lines(self.service, self.pricing)
        items = []
        for n, (component, line) in enumerate(self._lines):
            items += _line_items(self.service, self.pricing, component, line, start, end, n == 0)
        return items


def _penalties(service: ServiceFacts, as_of: date) -> list[Item]:
    """One penalty per cancellation before the binding end, not yet charged, by as_of."""
    pricing = service.pricing
    if pricing is None or not pricing.penalty_kind or pricing.binding_end is None:
        return []
    binding_end = pricing.binding_end
    items = []
    for c in sorted({p.start for p in service.periods if p.state == CANCELLED}):
        if c >= binding_end or c > as_of or c in pricing.penalties_charged:
            continue
        price = period_days = rate_from = None
        reasons = [
            f"cancelled {c.isoformat()}, before the binding period ends {binding_end.isoformat()}"
        ]
        if pricing.penalty_kind == FIXED:
            if pricing.penalty_amount is None or Decimal(pricing.penalty_amount) < 0:
                raise ValueError(f"service {service.id}: penalty_amount: expected an amount >= 0")
            net = cents(Decimal(pricing.penalty_amount))
            vat_rate = _vat_at(pricing.product.vat, c)
            vat = cents(net * vat_rate / HUNDRED)
        else:
            # a pre-rated service is already paid up to rated_up_to: those days are not
            # charged twice (seed 004 credits nothing back on a cancellation)
            unpaid_from = c
            if service.rating == PRE and service.rated_up_to is not None:
                unpaid_from = max(c, service.rated_up_to)
                if unpaid_from > c:
                    reasons.append(f"prepaid up to {unpaid_from.isoformat()}: charged from there")
            days = max((binding_end - unpaid_from).days, 0)
            net = vat = ZERO
            rates_used = set()
            lines = _lines(service, pricing)
            for _, line in lines:
                rate = _rate_at(service, line.rates, c)
                line_net = cents(Decimal(rate.price_per_period) * days / rate.period_days)
                # each line's fees at its own VAT rate (a component's class, not the bundle's)
                line_rate = _vat_at(line.vat, c)
                rates_used.add(line_rate)
                net += line_net
                vat += cents(line_net * line_rate / HUNDRED)
                if len(lines) == 1:
                    price, period_days = Decimal(rate.price_per_period), rate.period_days
                    rate_from = rate.effective_from
            if len(rates_used) == 1:
                vat_rate = rates_used.pop()
            else:  # components at different rates: the effective rate, VAT summed per line
                vat_rate = (vat * HUNDRED / net).quantize(Decimal("0.0001")) if net else ZERO
                reasons.append("VAT at each component's own rate")
        if net + vat <= 0:
            continue
        items.append(
            Item(
                service_id=service.id,
                kind=PENALTY,
                start=c,
                end=binding_end,
                active_days=0,
                amount=net + vat,
                price_per_period=price,
                period_days=period_days,
                net=net,
                vat_rate=vat_rate,
                vat=vat,
                rate_from=rate_from,
                reasons=tuple(reasons),
            )
        )
    return items


def _usage_item(service_id: int, u: UsageFacts) -> Item:
    """A usage record billed as it is: TO_BE_CREDITED negative."""
    amount = cents(Decimal(u.amount))
    if u.directive == TO_BE_CREDITED:
        amount = -amount
    day = u.billing_effective_date
    return Item(
        service_id=service_id,
        kind=USAGE,
        start=day,
        end=day + timedelta(days=1),
        active_days=0,
        amount=amount,
        usage_id=u.id,
        net=amount,
    )


def _check(service: ServiceFacts) -> None:
    if service.period_days < 1:
        raise ValueError(f"service {service.id}: period_days: expected a whole number >= 1")
    if service.rating not in (PRE, POST):
        raise ValueError(f"service {service.id}: rating: expected PRE or POST")
    if Decimal(service.price_per_period) < 0:
        raise ValueError(f"service {service.id}: price_per_period: expected an amount >= 0")
    if service.pricing is not None:
        _check_pricing(service.id, service.pricing)


def _check_pricing(service_id: int, pricing: Pricing) -> None:
    """A value rating would otherwise misread (an unknown model or kind, a rate out of range)
    is refused, naming the field, rather than rated as something else."""
    where = f"service {service_id}"
    if pricing.bundle_pricing not in ("", FIXED, BUNDLE, COMPONENTS, BOTH):
        raise ValueError(f"{where}: bundle_pricing: expected '', FIXED, BUNDLE, COMPONENTS or BOTH")
    if pricing.penalty_kind not in ("", REMAINING_FEES, FIXED):
        raise ValueError(f"{where}: penalty_kind: expected '', REMAINING_FEES or FIXED")
    for p in (pricing.product, *pricing.components):
        for v in p.vat:
            if not 0 <= Decimal(v.rate) <= HUNDRED:
                raise ValueError(f"{where}: product {p.code}: VAT rate: expected 0 to 100")
    for p in (pricing.product, *pricing.components):
        for d in (*p.discounts, *pricing.ad_hoc):
            _check_discount(where, d)


def _check_discount(where: str, d: DiscountFacts) -> None:
    said = f"{where}: discount {d.code}"
    if d.kind not in (PERCENT, FIXED):
        raise ValueError(f"{said}: kind: expected PERCENT or FIXED")
    value = Decimal(d.value)
    if value <= 0 or (d.kind == PERCENT and value > HUNDRED):
        top = " and <= 100" if d.kind == PERCENT else ""
        raise ValueError(f"{said}: value: expected > 0{top}")
    if d.period_days is not None and d.period_days < 1:
        raise ValueError(f"{said}: period_days: expected a whole number >= 1")
    if d.effective_to is not None and d.effective_to <= d.effective_from:
        raise ValueError(f"{said}: effective_to: expected a date after effective_from")


def rate_service(service: ServiceFacts, usage: Sequence[UsageFacts], as_of: date) -> ServiceRating:
    """Identify and rate a service (periods and usage) as of a date (SPEC 7)."""
    _check(service)
    items: list[Item] = []
    periods = _PeriodRater(service)
    first = first_active_day(service.periods)
    new_rated = service.rated_up_to
    if service.rating == POST:
        r = service.rated_up_to if service.rated_up_to is not None else first
        if r is not None and r < as_of:
            items += periods.items(r, as_of)
            new_rated = as_of
    else:
        if service.rated_up_to is not None:
            r = service.rated_up_to
        else:
            r = None if first is None else max(first, as_of)
        step = timedelta(days=service.period_days)
        while r is not None and r <= as_of:
            items += periods.items(r, r + step)
            r = r + step
            new_rated = r
    for u in usage:
        if u.service_id != service.id or u.directive not in (TO_BE_BILLED, TO_BE_CREDITED):
            continue
        if u.billing_effective_date <= as_of:
            items.append(_usage_item(service.id, u))
    items += _penalties(service, as_of)
    order = {SERVICE: 0, PENALTY: 1, USAGE: 2}
    items.sort(key=lambda i: (i.start, order[i.kind], i.component or "", i.usage_id or 0))
    return ServiceRating(
        service_id=service.id,
        items=tuple(items),
        rated_up_to=new_rated,
        previous_rated_up_to=service.rated_up_to,
    )


@dataclass(frozen=True)
class WalletFacts:
    """A wallet's money and thresholds at the start of its debit plan."""

    balance: Decimal
    available: Decimal
    min_balance_threshold: Decimal
    stop_service_threshold: Decimal
    restrict_below_stop: bool


@dataclass(frozen=True)
class ServiceOutcome:
    """What happens to one service: its state, the items it keeps and what each one debits.

    `billed[i]` says whether items[i] is billed now (its cause may debit, or it is a credit);
    an item not billed is kept NOT_BILLED with a debit of 0 for a later run."""

    service_id: int
    # "VALID" | "INVALID" | None (nothing billable: the prepayment state is unchanged)
    state: str | None
    items: tuple[Item, ...]  # empty when INVALID; credits first, then charges, then not billed
    debits: tuple[Decimal, ...]  # one per item: >0 debit, <0 credit, 0 none
    rated_up_to: date | None  # new value (unchanged when INVALID or nothing identified)
    billed: tuple[bool, ...] = ()  # one per item (empty = all billed)

    def is_billed(self, index: int) -> bool:
        """items[index] is billed now."""
        return not self.billed or self.billed[index]


@dataclass(frozen=True)
class DebitPlan:
    """The outcomes of a wallet's services and where its money ends."""

    outcomes: tuple[ServiceOutcome, ...]
    balance_after: Decimal
    available_after: Decimal
    debited: Decimal = field(default=ZERO)  # sum of positive debits (beyond the contract)
    credited: Decimal = field(default=ZERO)  # sum of credits, positive (beyond the contract)


def may_debit(item: Item, debit_causes: frozenset[str] | None) -> bool:
    """The item is billed now: no wallet definition, its cause is listed, or it is a credit."""
    return debit_causes is None or item.amount < 0 or item.cause in debit_causes


def debit_plan(
    wallet: WalletFacts,
    ratings: Sequence[ServiceRating],
    debit_causes: frozenset[str] | None = None,
) -> DebitPlan:
    """Plan a wallet's debits: min-balance rule, stop-service cap, credits always applied.

    `debit_causes` (the active wallet definition's; None = every cause) leaves the items whose
    cause is not listed rated but NOT_BILLED: they neither debit nor count for the minimum."""
    available = Decimal(wallet.available)
    minimum = Decimal(wallet.min_balance_threshold)
    stop = Decimal(wallet.stop_service_threshold)
    outcomes: list[ServiceOutcome] = []
    moved = ZERO
    debited = ZERO
    credited = ZERO
    for rating in sorted(ratings, key=lambda r: r.service_id):
        if not rating.identified:
            outcomes.append(ServiceOutcome(rating.service_id, None, (), (), rating.rated_up_to))
            continue
        billable: list[Item] = []
        held: list[Item] = []
        for i in rating.items:
            (billable if may_debit(i, debit_causes) else held).append(i)
        if held and not billable:
            # rated, nothing may debit: kept NOT_BILLED, the prepayment state is unchanged
            outcomes.append(
                ServiceOutcome(
                    rating.service_id,
                    None,
                    tuple(held),
                    tuple(ZERO for _ in held),
                    rating.rated_up_to,
                    tuple(False for _ in held),
                )
            )
            continue
        total = sum((i.amount for i in billable), ZERO)
        # an earlier run's NOT_BILLED charges already hold back `available`: debited now, their
        # hold is released, but only when the service is VALID (INVALID keeps them held)
        hold = sum((i.amount for i in billable if i.existing_id is not None and i.amount > 0), ZERO)
        if total > 0 and available + hold - total < minimum:
            outcomes.append(
                ServiceOutcome(rating.service_id, INVALID, (), (), rating.previous_rated_up_to)
            )
            continue
        available += hold
        # credits first: a later credit never lets an earlier charge overdraw the wallet
        ordered = [i for i in billable if i.amount < 0] + [i for i in billable if i.amount >= 0]
        debits: list[Decimal] = []
        for item in ordered:
            debit = item.amount
            if debit > 0 and wallet.restrict_below_stop and available - debit < stop:
                debit = max(available - stop, ZERO)
            if debit > 0:
                debited += debit
            elif debit < 0:
                credited -= debit
            available -= debit
            moved += debit
            debits.append(debit)
        outcomes.append(
            ServiceOutcome(
                rating.service_id,
                VALID,
                tuple(ordered + held),
                tuple(debits + [ZERO] * len(held)),
                rating.rated_up_to,
                tuple([True] * len(ordered) + [False] * len(held)) if held else (),
            )
        )
    return DebitPlan(
        outcomes=tuple(outcomes),
        balance_after=Decimal(wallet.balance) - moved,
        available_after=available,
        debited=debited,
        credited=credited,
    )


@dataclass(frozen=True)
class BurnLine:
    """A product's gross price per period for a service on a day (estimates' daily burn)."""

    product: str
    gross_per_period: Decimal  # unrounded: rate - discounts + VAT
    period_days: int


def burn_lines(service: ServiceFacts, on: date) -> tuple[BurnLine, ...]:
    """What the service burns per period on `on`, per line (the product or each component),
    gross: discounts in force taken off (percentages, then fixed amounts scaled to the rate's
    period, never below zero), VAT added. A line with no rate in force on `on` burns nothing."""
    if service.pricing is not None:
        _check_pricing(service.id, service.pricing)
    pricing = service.pricing or Pricing(product=ProductPricing(code=service.product))
    out = []
    for n, (component, line) in enumerate(_lines(service, pricing)):
        try:
            rate = _rate_at(service, line.rates, on)
        except ValueError:
            continue
        price = Decimal(rate.price_per_period)
        discounts = (*line.discounts, *_ad_hoc(pricing, n == 0))
        in_force = [d for d in discounts if _in_force(d, on)]
        pct = min(
            sum((Decimal(d.value) for d in in_force if d.kind == PERCENT), Decimal(0)), HUNDRED
        )
        left = price - price * pct / HUNDRED
        for d in in_force:
            if d.kind != PERCENT:
                left -= Decimal(d.value) * rate.period_days / (d.period_days or rate.period_days)
        left = max(left, Decimal(0))
        gross = left + left * _vat_at(line.vat, on) / HUNDRED
        out.append(BurnLine(component or line.code, gross, rate.period_days))
    return tuple(out)


@dataclass(frozen=True)
class BurnFacts:
    """A service as the estimate sees it."""

    product: str
    price_per_period: Decimal
    period_days: int
    valid: bool
    active: bool  # ACTIVE on as_of


@dataclass(frozen=True)
class ProductEstimate:
    """A product's share of the wallet and how long it lasts."""

    product: str
    daily_burn: Decimal
    available_amount: Decimal
    days: int | None
    date: date | None


@dataclass(frozen=True)
class Estimate:
    """How long a wallet's balance lasts at its daily burn (None when nothing burns)."""

    daily_burn: Decimal
    days: int | None
    date: date | None
    products: tuple[ProductEstimate, ...]


def _ratio(value) -> tuple[int, int]:
    """An exact (numerator, denominator) of a Decimal (or int)."""
    return Decimal(value).as_integer_ratio()


def _half_up(num: int, den: int, places: int) -> Decimal:
    """num / den (den > 0) rounded half-up (away from zero) to `places` decimals."""
    scaled = abs(num) * 10**places
    n = (2 * scaled + den) // (2 * den)
    return Decimal(-n if num < 0 else n).scaleb(-places)


def _days(num: int, den: int, burn_num: int, burn_den: int, as_of: date, max_days: int):
    """floor((num/den) / burn) capped at max_days, and the date; (None, None) with no burn."""
    if burn_num <= 0:
        return None, None
    days = min(max((num * burn_den) // (den * burn_num), 0), max_days)
    return days, as_of + timedelta(days=days)


def estimate(
    *, balance: Decimal, services: Sequence[BurnFacts], as_of: date, max_days: int = 365
) -> Estimate:
    """Daily burn of the VALID, ACTIVE services; days = floor(balance / burn), capped (SPEC 7)."""
    # exact rational arithmetic on ints (num, den): Fraction is ~10x slower over 100,000 services
    per_product: dict[str, list[int]] = {}
    for s in services:
        if not (s.valid and s.active):
            continue
        if s.period_days < 1:
            raise ValueError(f"product {s.product}: period_days: expected a whole number >= 1")
        n, d = _ratio(s.price_per_period)
        d *= s.period_days
        acc = per_product.get(s.product)
        if acc is None:
            per_product[s.product] = [n, d]
        elif acc[1] == d:
            acc[0] += n
        else:
            acc[0], acc[1] = acc[0] * d + n * acc[1], acc[1] * d
    total_n, total_d = 0, 1
    for n, d in per_product.values():
        total_n, total_d = total_n * d + n * total_d, total_d * d
    bal_n, bal_d = _ratio(balance)
    days, day = _days(bal_n, bal_d, total_n, total_d, as_of, max_days)
    products = []
    if total_n > 0:
        for code in sorted(per_product):
            n, d = per_product[code]
            if n <= 0:
                continue
            # share = balance x burn / total burn
            share = _half_up(bal_n * n * total_d, bal_d * d * total_n, 2)
            share_n, share_d = _ratio(share)
            p_days, p_date = _days(share_n, share_d, n, d, as_of, max_days)
            products.append(
                ProductEstimate(
                    product=code,
                    daily_burn=_half_up(n, d, 4),
                    available_amount=share,
                    days=p_days,
                    date=p_date,
                )
            )
    return Estimate(
        daily_burn=_half_up(total_n, total_d, 4), days=days, date=day, products=tuple(products)
    )
