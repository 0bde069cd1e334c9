"""Chart geometry for invoicing's screens (server-rendered SVG), pure Python like billing.charts.

Values are written on the chart (above each column, beside each bar) and the count axis has
labelled ticks, so nobody has to hover to read a figure.
"""

from __future__ import annotations

from billing.charts import _nice_step

KIND_COLOURS = {"REGULAR": "#1f5fa8", "TRIAL": "#d9a441"}


def grouped_columns(
    months: list[str],
    series: dict[str, list[int]],
    *,
    width: int = 600,
    height: int = 220,
) -> dict:
    """Side-by-side columns per month, one per series (e.g. bill kind), with a count axis."""
    left, right, top_pad, bottom_pad = 44, 8, 22, 34
    high = max([v for values in series.values() for v in values] + [0])
    step = max(1, int(_nice_step(high or 1)))
    top_tick = step * -(-high // step) if high else step
    plot_h = height - top_pad - bottom_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (top_tick - v) / top_tick

    ticks = [{"y": y(v), "text": str(v), "zero": v == 0} for v in range(0, top_tick + 1, step)]
    slot = (width - left - right) / max(len(months), 1)
    names = list(series)
    bar_w = slot * 0.7 / max(len(names), 1)
    groups = []
    for i, label in enumerate(months):
        bars = []
        for j, name in enumerate(names):
            value = series[name][i]
            x = left + i * slot + slot * 0.15 + j * bar_w
            bars.append(
                {
                    "series": name,
                    "value": value,
                    "x": x,
                    "w": bar_w * 0.92,
                    "y": y(value),
                    "h": y(0) - y(value),
                    "cx": x + bar_w * 0.46,
                    "value_y": y(value) - 4,
                    "colour": KIND_COLOURS.get(name, "#6a4fb3"),
                }
            )
        groups.append({"label": label, "cx": left + i * slot + slot / 2, "bars": bars})
    return {
        "groups": groups,
        "ticks": ticks,
        "width": width,
        "height": height,
        "left": left,
        "label_y": height - bottom_pad + 14,
        "legend": [(n, KIND_COLOURS.get(n, "#6a4fb3")) for n in names],
    }
