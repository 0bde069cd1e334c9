"""Chart geometry of the forced-match report (server-rendered SVG), pure Python.

One column per month: the forced-match rate in percent, the value written above the column and
the counts (forced of matched) under the month, so nobody has to hover to read a figure.
"""

from __future__ import annotations

from decimal import Decimal

TICKS = (0, 25, 50, 75, 100)


def rate_columns(
    months: list[str],
    rates: list[Decimal],
    counts: list[tuple[int, int]],
    *,
    width: int = 640,
    height: int = 240,
) -> dict:
    """Columns of rates (0-1) per month on a 0-100 % axis; empty months give no column."""
    left, right, top_pad, bottom_pad = 44, 8, 22, 44
    plot_h = height - top_pad - bottom_pad

    def y(percent: float) -> float:
        return top_pad + plot_h * (100 - percent) / 100

    ticks = [{"y": y(t), "text": f"{t} %", "zero": t == 0} for t in TICKS]
    slot = (width - left - right) / max(len(months), 1)
    bar_w = min(slot * 0.6, 60)
    columns = []
    for i, (label, rate, (forced, matched)) in enumerate(zip(months, rates, counts, strict=True)):
        percent = float(rate * 100)
        cx = left + i * slot + slot / 2
        columns.append(
            {
                "label": label,
                "percent": f"{rate * 100:.1f} %",
                "counts": f"{forced} of {matched}",
                "x": cx - bar_w / 2,
                "w": bar_w,
                "y": y(percent),
                "h": y(0) - y(percent),
                "cx": cx,
                "value_y": y(percent) - 4,
            }
        )
    return {
        "columns": columns,
        "ticks": ticks,
        "width": width,
        "height": height,
        "left": left,
        "label_y": height - bottom_pad + 14,
        "count_y": height - bottom_pad + 28,
    }
