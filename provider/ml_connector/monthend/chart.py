"""A server-side SVG bar chart of plan against actual per member: two bars a member, a
labelled value axis through zero (negative amounts go below it), a legend, a ``<title>``
on the chart and on every bar. Plain SVG text: no script, no library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from ml_connector.flows.align import MemberTotal

#: Plot geometry (SVG user units).
LEFT, TOP, PLOT_HEIGHT, BOTTOM, RIGHT = 90, 40, 240, 110, 20
GROUP, BAR = 56, 20  # a member's band and each of its two bars
COLORS = {"actual": "#2563eb", "plan": "#9ca3af"}


def _step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 x 10^n) giving about ``ticks`` intervals over ``span``."""
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _scale(values: Sequence[float]) -> tuple[float, float, float]:
    """(low, high, step): an axis from a multiple of step at or below min(0, values) to one
    at or above max(0, values)."""
    lo, hi = min(0.0, *values), max(0.0, *values)
    if lo == hi:
        hi = 1.0
    step = _step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _tick(value: float, step: float) -> str:
    places = max(0, -math.floor(math.log10(step)))
    return f"{value:,.{places}f}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def bar_chart(totals: Sequence[MemberTotal], *, member_label: str, plan_label: str,
              title: str, chart_id: str = "chart") -> str:
    """An ``<svg>`` of ``totals``: per member an actual bar and a ``plan_label`` bar, the
    members along the bottom axis (named ``member_label``), amounts up the side."""
    t_id, d_id = f"{chart_id}-title", f"{chart_id}-desc"
    width = LEFT + RIGHT + GROUP * max(len(totals), 1)
    height = TOP + PLOT_HEIGHT + BOTTOM
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="mlc-chart" role="img" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'aria-labelledby="{t_id} {d_id}" font-family="sans-serif" font-size="11">'
            f'<title id="{t_id}">{escape(title)}</title>'
            f'<desc id="{d_id}">Actual and {escape(plan_label)} per '
            f'{escape(member_label)}, {len(totals)} member(s).</desc>')
    if not totals:
        return (head + f'<text x="{LEFT}" y="{TOP + 20}">No amounts to chart.</text></svg>')
    lo, hi, step = _scale([float(v) for t in totals for v in (t.actual, t.plan)])

    def y(value: float) -> float:
        return TOP + (hi - value) / (hi - lo) * PLOT_HEIGHT

    parts = [head]
    ticks = round((hi - lo) / step)
    for n in range(ticks + 1):
        mark = lo + n * step
        at = y(mark)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{at:.2f}" '
                     f'y2="{at:.2f}" stroke="{"#374151" if mark == 0 else "#e5e7eb"}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{at + 4:.2f}" '
                     f'text-anchor="end">{_tick(mark, step)}</text>')
    middle = TOP + PLOT_HEIGHT / 2
    parts.append(f'<text class="axis-label" x="16" y="{middle}" text-anchor="middle" '
                 f'transform="rotate(-90 16 {middle})">Amount</text>')
    parts.append(f'<text class="axis-label" x="{(LEFT + width - RIGHT) / 2}" '
                 f'y="{height - 8}" text-anchor="middle">{escape(member_label)}</text>')
    zero = y(0.0)
    for n, total in enumerate(totals):
        shown = escape(total.name or total.member)  # its name in Anaplan, else its code
        x0 = LEFT + n * GROUP + (GROUP - 2 * BAR) / 2
        pairs: tuple[tuple[str, str, Decimal], ...] = (
            ("actual", "Actual", total.actual), ("plan", plan_label, total.plan))
        for k, (series, label, value) in enumerate(pairs):
            top = y(float(value))
            parts.append(
                f'<rect class="bar {series}" x="{x0 + k * BAR:.2f}" '
                f'y="{min(top, zero):.2f}" width="{BAR - 2}" height="{abs(zero - top):.2f}" '
                f'fill="{COLORS[series]}" data-member="{escape(total.member)}" '
                f'data-value="{value}"><title>{shown}: {escape(label)} '
                f'{_money(value)}</title></rect>')
        cx = LEFT + n * GROUP + GROUP / 2
        ly = TOP + PLOT_HEIGHT + 14
        parts.append(f'<text class="member" x="{cx}" y="{ly}" text-anchor="end" '
                     f'transform="rotate(-35 {cx} {ly})">{shown}</text>')
    for k, (series, label) in enumerate((("actual", "Actual"), ("plan", plan_label))):
        lx = LEFT + k * 140
        parts.append(f'<g class="legend"><rect x="{lx}" y="10" width="12" height="12" '
                     f'fill="{COLORS[series]}"/><text x="{lx + 18}" y="20">'
                     f'{escape(label)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
