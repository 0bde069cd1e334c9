"""Chart geometry for the billing screens (server-rendered SVG). Pure Python, no Django."""

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


def bars(items: list[tuple[str, float | Decimal, str]], *, width: int = 520, row: int = 26) -> dict:
    """Horizontal bars: (label, value, note) -> geometry for an SVG with labels at the left."""
    label_w, gap = 190, 6
    top = max((float(v) for _, v, _ in items), default=0) or 1
    out = []
    for i, (label, value, note) in enumerate(items):
        w = (width - label_w - 90) * float(value) / top
        out.append(
            {
                "label": label,
                "note": note,
                "x": label_w,
                "y": i * row + gap,
                "w": max(w, 1 if value else 0),
                "h": row - 2 * gap,
                "text_y": i * row + row / 2 + 4,
                "value_x": label_w + max(w, 1) + 6,
                "colour": CLASS_COLOURS.get(label, "#1f5fa8"),
            }
        )
    return {
        "bars": out,
        "width": width,
        "height": max(len(items) * row, row),
        "label_x": label_w - 8,
    }


def columns(points: list[tuple[str, Decimal]], *, width: int = 560, height: int = 180) -> dict:
    """Vertical columns (e.g. total charge by month) with a baseline and labels."""
    base, top_pad, left = height - 28, 16, 8
    top = max((float(v) for _, v in points), default=0) or 1
    n = max(len(points), 1)
    slot = (width - left) / n
    out = []
    for i, (label, value) in enumerate(points):
        h = (base - top_pad) * max(float(value), 0) / top
        out.append(
            {
                "label": label,
                "value": value,
                "x": left + i * slot + slot * 0.15,
                "w": slot * 0.7,
                "y": base - h,
                "h": h,
                "cx": left + i * slot + slot / 2,
            }
        )
    return {"columns": out, "width": width, "height": height, "base": base}
