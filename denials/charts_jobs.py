"""Chart geometry of the reconciliation dashboard (server-rendered SVG), pure Python.

Each service month is one column as tall as what was billed, stacked by where the money went
(paid, adjusted, patient responsibility, written off, still open), the total written above it
and a money axis with labelled ticks, like billing's and invoicing's charts.
"""

from __future__ import annotations

from decimal import Decimal

from billing.charts import _nice_step, money_text

SEGMENTS = (
    ("paid", "Paid", "#1d7a46"),
    ("adjusted", "Adjusted", "#1f5fa8"),
    ("patient_responsibility", "Patient responsibility", "#6a4fb3"),
    ("written_off", "Written off", "#8a94a3"),
    ("open", "Open", "#d9a441"),
)


def stacked_money_columns(
    points: list[tuple[str, dict[str, Decimal]]], *, width: int = 640, height: int = 240
) -> dict:
    """(label, {segment: amount}) per column -> geometry; negative parts are drawn as zero."""
    left, right, top_pad, bottom_pad = 64, 8, 22, 34
    totals = [sum(max(float(v.get(k, 0)), 0) for k, _, _ in SEGMENTS) for _, v in points]
    high = max(totals + [0])
    step = _nice_step(high or 1)
    top_tick = step * -(-high // step) if high > 0 else step
    plot_h = height - top_pad - bottom_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (top_tick - v) / top_tick

    ticks = []
    v = 0.0
    while v <= top_tick + step / 2:
        ticks.append({"y": y(v), "text": money_text(v, short=True), "zero": v == 0})
        v += step
    slot = (width - left - right) / max(len(points), 1)
    columns = []
    for i, ((label, values), total) in enumerate(zip(points, totals, strict=True)):
        x = left + i * slot + slot * 0.15
        base = 0.0
        segments = []
        for key, name, colour in SEGMENTS:
            amount = max(float(values.get(key, 0)), 0)
            if amount:
                segments.append(
                    {
                        "key": key,
                        "name": name,
                        "colour": colour,
                        "y": y(base + amount),
                        "h": y(base) - y(base + amount),
                        "title": f"{label} · {name.lower()}: {money_text(values.get(key, 0))}",
                    }
                )
            base += amount
        columns.append(
            {
                "label": label,
                "x": x,
                "w": slot * 0.7,
                "cx": left + i * slot + slot / 2,
                "segments": segments,
                "total_text": money_text(total, short=True),
                "value_y": y(total) - 4,
            }
        )
    return {
        "columns": columns,
        "ticks": ticks,
        "width": width,
        "height": height,
        "left": left,
        "label_y": height - bottom_pad + 14,
        "legend": [(name, colour) for _, name, colour in SEGMENTS],
    }
