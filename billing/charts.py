"""Chart geometry for the billing screens (server-rendered SVG). Pure Python, no Django.

Charts are readable without hovering: values are written next to bars and above columns, the
value axis has labelled ticks, and a highlighted column (the run's own month) says so.
"""

from __future__ import annotations

from decimal import Decimal

CLASS_COLOURS = {
    "BILLED_ACTIVE": "#1d7a46",
    "BILLED_PARTIAL_TERM": "#4f9d69",
    "BILLED_RETROACTIVE": "#6a4fb3",
    "NOT_BILLED_RETROACTIVE": "#b05fa0",
    "NOT_BILLED_NO_SERVICE": "#d9a441",
    "NOT_BILLED_TERMINATED": "#8a94a3",
    "NOT_BILLED_PENDING": "#b8c4d2",
    "OVERRIDE_APPLIED": "#1f5fa8",
}
OWN_COLOUR, RETRO_COLOUR, HIGHLIGHT_COLOUR = "#1f5fa8", "#6a4fb3", "#0b3d75"


def money_text(value: float | Decimal, *, short: bool = False) -> str:
    """1234.5 -> '$1,234.50'; short: '$1.2k', '$3.4M' (axis ticks)."""
    v = float(value)
    sign = "-" if v < 0 else ""
    v = abs(v)
    if short:
        for limit, suffix in ((1e6, "M"), (1e3, "k")):
            if v >= limit:
                text = f"{v / limit:.1f}".rstrip("0").rstrip(".")
                return f"{sign}${text}{suffix}"
        return f"{sign}${v:,.0f}"
    return f"{sign}${v:,.2f}"


def bars(
    items: list[tuple[str, str, float | Decimal, str]], *, width: int = 560, row: int = 26
) -> dict:
    """Horizontal bars: (key, label, value, note) -> geometry; label left, note right of the bar."""
    label_w, gap, note_w = 230, 6, 150
    top = max((float(v) for _, _, v, _ in items), default=0) or 1
    out = []
    for i, (key, label, value, note) in enumerate(items):
        w = (width - label_w - note_w) * float(value) / top
        out.append(
            {
                "key": key,
                "label": label,
                "note": note,
                "x": label_w,
                "y": i * row + gap,
                "w": max(w, 1 if value else 0),
                "h": row - 2 * gap,
                "text_y": i * row + row / 2 + 4,
                "value_x": label_w + max(w, 1) + 6,
                "colour": CLASS_COLOURS.get(key, OWN_COLOUR),
            }
        )
    return {
        "bars": out,
        "width": width,
        "height": max(len(items) * row, row),
        "label_x": label_w - 8,
    }


def _nice_step(span: float) -> float:
    raw = span / 4 or 1
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            return m * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def columns(
    points: list[tuple[str, Decimal, Decimal]],
    *,
    highlight: str | None = None,
    width: int = 600,
    height: int = 220,
) -> dict:
    """Stacked columns per month: (label, own amount, retroactive amount), with a value axis.

    The retroactive part is its own segment: above the month's own amount when positive, below
    the zero line when negative (refunds). `highlight` names the label to emphasise.
    """
    left, right, top_pad, bottom_pad = 64, 8, 22, 34
    values = [(float(own), float(retro)) for _, own, retro in points]
    high = max([max(o, 0) + max(r, 0) for o, r in values] + [0])
    low = min([min(o, 0) + min(r, 0) for o, r in values] + [0])
    step = _nice_step((high - low) or 1)
    top_tick = step * -(-high // step) if high > 0 else 0
    low_tick = step * (low // step) if low < 0 else 0
    if top_tick == low_tick:
        top_tick = step
    plot_h = height - top_pad - bottom_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (top_tick - v) / (top_tick - low_tick)

    ticks = []
    v = low_tick
    while v <= top_tick + step / 2:
        ticks.append({"y": y(v), "text": money_text(v, short=True), "zero": v == 0})
        v += step
    n = max(len(points), 1)
    slot = (width - left - right) / n
    out = []
    for i, ((label, own, retro), (o, r)) in enumerate(zip(points, values, strict=True)):
        x = left + i * slot + slot * 0.15
        own_top, own_bottom = (y(o), y(0)) if o >= 0 else (y(0), y(o))
        if r >= 0:
            retro_top, retro_bottom = y(max(o, 0) + r), y(max(o, 0))
        else:
            retro_top, retro_bottom = y(min(o, 0)), y(min(o, 0) + r)
        total = own + retro
        out.append(
            {
                "label": label,
                "own": own,
                "retro": retro,
                "total": total,
                "total_text": money_text(total, short=True),
                "title": f"{label}: {money_text(total)}"
                + (f" (of which retroactive {money_text(retro)})" if retro else ""),
                "x": x,
                "w": slot * 0.7,
                "cx": left + i * slot + slot / 2,
                "own_y": own_top,
                "own_h": own_bottom - own_top,
                "retro_y": retro_top,
                "retro_h": retro_bottom - retro_top,
                "value_y": min(own_top, retro_top) - 4,
                "highlight": label == highlight,
                "colour": HIGHLIGHT_COLOUR if label == highlight else OWN_COLOUR,
            }
        )
    return {
        "columns": out,
        "ticks": ticks,
        "width": width,
        "height": height,
        "left": left,
        "zero_y": y(0),
        "label_y": height - bottom_pad + 14,
        "any_retro": any(r for _, r in values),
        "retro_colour": RETRO_COLOUR,
        "own_colour": OWN_COLOUR,
    }
