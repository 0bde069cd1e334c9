"""A wallet's burn-down chart (server-rendered SVG geometry), pure Python like billing.charts.

The balance after each ledger row is a step line on a time axis; from today's balance a dashed
line falls to zero at the estimated run-out date, which is written on the chart, so nobody has
to hover to read it.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

from billing.charts import _nice_step, money_text

HISTORY_COLOUR, PROJECTION_COLOUR, RUNOUT_COLOUR = "#1f5fa8", "#d9a441", "#b3261e"


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def burn_down(
    history: list[tuple[date | datetime, Decimal]],
    *,
    today: date,
    balance: Decimal,
    runout: date | None,
    width: int = 640,
    height: int = 240,
) -> dict:
    """Geometry: history (when, balance after) as steps, then today's balance down to `runout`."""
    left, right, top_pad, bottom_pad = 64, 24, 24, 40
    days = [_day(when) for when, _ in history]
    start = min(days + [today])
    end = max(days + [today] + ([runout] if runout and runout > today else []))
    if end == start:
        end = date.fromordinal(start.toordinal() + 1)
    high = max([float(v) for _, v in history] + [float(balance), 0.0])
    step = _nice_step(high or 1)
    top = step * math.ceil(high / step) if high > 0 else step
    plot_w, plot_h = width - left - right, height - top_pad - bottom_pad
    span = (end - start).days

    def x(day: date) -> float:
        return left + plot_w * (day - start).days / span

    def y(v: float) -> float:
        return top_pad + plot_h * (top - v) / top

    path, dots = [], []
    for i, (when, value) in enumerate(history):
        px, py = x(_day(when)), y(float(value))
        path.append(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}")
        dots.append(
            {"x": px, "y": py, "title": f"{_day(when).isoformat()}: balance {money_text(value)}"}
        )
        following = history[i + 1][0] if i + 1 < len(history) else today
        path.append(f"L{x(_day(following)):.1f},{py:.1f}")
    today_point = {"x": x(today), "y": y(float(balance)), "text": money_text(balance)}
    projection = None
    if runout is not None and runout > today:
        projection = {
            "x1": today_point["x"],
            "y1": today_point["y"],
            "x2": x(runout),
            "y2": y(0.0),
            "text": f"runs out {runout.isoformat()}",
            "date": runout.isoformat(),
        }
    ticks = [
        {"y": y(v), "text": money_text(v, short=True), "zero": v == 0}
        for v in (step * k for k in range(int(round(top / step)) + 1))
    ]
    return {
        "path": " ".join(path),
        "dots": dots,
        "today": today_point,
        "projection": projection,
        "ticks": ticks,
        "width": width,
        "height": height,
        "left": left,
        "right_x": width - right,
        "zero_y": y(0.0),
        "label_y": height - bottom_pad + 16,
        "start_text": start.isoformat(),
        "end_text": end.isoformat(),
        "history_colour": HISTORY_COLOUR,
        "projection_colour": PROJECTION_COLOUR,
        "runout_colour": RUNOUT_COLOUR,
    }
