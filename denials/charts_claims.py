"""A claim's balance over time as a step chart (server-rendered SVG geometry, pure Python).

Each point is written on the chart (the balance after each event), so nobody has to hover.
"""

from __future__ import annotations

import math
from decimal import Decimal

from billing.charts import _nice_step, money_text


def balance_steps(
    points: list[tuple[str, Decimal, str]], *, width: int = 600, height: int = 200
) -> dict:
    """Geometry of a step line through (label, balance after, what happened) points."""
    left, right, top_pad, bottom_pad = 60, 16, 20, 30
    values = [float(v) for _, v, _ in points] or [0.0]
    high, low = max(values + [0.0]), min(values + [0.0])
    step = _nice_step((high - low) or 1)
    top = step * math.ceil(high / step) if high > 0 else step
    bottom = -step * math.ceil(-low / step) if low < 0 else 0.0
    plot_h = height - top_pad - bottom_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (top - v) / ((top - bottom) or 1)

    slot = (width - left - right) / max(len(points), 1)
    dots, path = [], []
    for i, (label, value, what) in enumerate(points):
        x0, x1 = left + i * slot, left + (i + 1) * slot
        yv = y(float(value))
        if path:
            path.append(f"L{x0:.1f},{yv:.1f}")
        else:
            path.append(f"M{x0:.1f},{yv:.1f}")
        path.append(f"L{x1:.1f},{yv:.1f}")
        dots.append(
            {
                "x": x0,
                "y": yv,
                "cx": x0 + slot / 2,
                "label": label,
                "text": money_text(value),
                "title": f"{label}: {what}, balance {money_text(value)}",
            }
        )
    ticks = []
    v = bottom
    while v <= top + 1e-9:
        ticks.append({"y": y(v), "text": money_text(v, short=True), "zero": abs(v) < 1e-9})
        v += step
    return {
        "path": " ".join(path),
        "dots": dots,
        "ticks": ticks,
        "width": width,
        "height": height,
        "left": left,
        "label_y": height - bottom_pad + 16,
    }
