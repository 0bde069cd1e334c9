"""Chart geometry of the override report (server-rendered SVG), pure Python.

One column per month stacked by kind (how many overrides of each), the month's total written
above it; by user, horizontal bars (billing's chart helper) of their overrides in the range.
"""

from __future__ import annotations

KIND_COLOURS = {
    "force_match": "#6a4fb3",
    "force_retry": "#1f5fa8",
    "manual_flip": "#c2410c",  # manual flips have their own, warmer colour (issue 14 item 2)
    "cob_override": "#0f766e",
    "reopen": "#a16207",
}


def _step(high: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if high / step <= 5:
            return step
    return 10 ** len(str(high))


def kind_columns(
    points: list[tuple[str, dict[str, int]]],
    kinds: list[tuple[str, str]],
    *,
    width: int = 640,
    height: int = 240,
) -> dict:
    """(month label, {kind: count}) per column -> stacked geometry; kinds = [(key, label)]."""
    left, right, top_pad, bottom_pad = 44, 8, 22, 34
    totals = [sum(max(v.get(k, 0), 0) for k, _ in kinds) for _, v in points]
    high = max(totals + [0])
    step = _step(high or 1)
    top_tick = step * max(-(-high // step), 1)
    plot_h = height - top_pad - bottom_pad

    def y(v: float) -> float:
        return top_pad + plot_h * (top_tick - v) / top_tick

    ticks = [{"y": y(v), "text": str(v), "zero": v == 0} for v in range(0, top_tick + 1, step)]
    slot = (width - left - right) / max(len(points), 1)
    columns = []
    for i, ((label, values), total) in enumerate(zip(points, totals, strict=True)):
        base = 0
        segments = []
        for key, name in kinds:
            n = max(values.get(key, 0), 0)
            if n:
                segments.append(
                    {
                        "key": key,
                        "colour": KIND_COLOURS.get(key, "#66717e"),
                        "y": y(base + n),
                        "h": y(base) - y(base + n),
                        "title": f"{label} · {name.lower()}: {n}",
                    }
                )
            base += n
        columns.append(
            {
                "label": label,
                "x": left + i * slot + slot * 0.15,
                "w": slot * 0.7,
                "cx": left + i * slot + slot / 2,
                "segments": segments,
                "total": total,
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
        "legend": [(name, KIND_COLOURS.get(key, "#66717e")) for key, name in kinds],
    }
