"""The plan-vs-actual chart, read back as SVG: bar heights proportional to the amounts,
negative amounts below the zero line, every text escaped, a title on the chart and bars."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

from ml_connector.flows.align import MemberTotal
from ml_connector.monthend.chart import bar_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
TOTALS = [MemberTotal(member="Sales", actual=Decimal("1275.10"), plan=Decimal("1000.00")),
          MemberTotal(member="R&D <West>", actual=Decimal("0"), plan=Decimal("300.00")),
          MemberTotal(member="Ops", actual=Decimal("-50.00"), plan=Decimal("0"))]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # fails on any unescaped text


def bars(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    found = {}
    for rect in root.iterfind(".//svg:rect", NS):
        classes = rect.get("class", "").split()
        if "bar" in classes:
            found[(rect.get("data-member", ""), classes[1])] = rect
    return found


def zero_line(root: ET.Element) -> float:
    ticks = {t.text: float(t.get("y", 0)) - 4 for t in root.iterfind(".//svg:text", NS)
             if t.get("class") == "tick"}
    return ticks["0"]


def test_two_bars_per_member_with_heights_proportional_to_the_amounts():
    root = parse(bar_chart(TOTALS, member_label="Department", plan_label="Budget",
                           title="invoice_actuals: actual vs Budget"))
    found = bars(root)
    assert len(found) == 2 * len(TOTALS)
    zero = zero_line(root)
    per_unit = []
    for total in TOTALS:
        for series, amount in (("actual", total.actual), ("plan", total.plan)):
            rect = found[(total.member, series)]
            height, y = float(rect.get("height", 0)), float(rect.get("y", 0))
            assert Decimal(rect.get("data-value", "")) == amount
            if amount == 0:
                assert height == 0
                continue
            per_unit.append(height / abs(float(amount)))
            if amount > 0:  # above the zero line, below it for a negative amount
                assert abs(y + height - zero) < 0.01
            else:
                assert abs(y - zero) < 0.01
            title = rect.find("svg:title", NS)
            assert title is not None and f"{amount:,.2f}" in (title.text or "")
    assert max(per_unit) - min(per_unit) < 0.01 * max(per_unit)
    # The tallest bar fits in the plot and fills most of it (a round axis above it).
    assert 0.6 < max(float(r.get("height", 0)) for r in found.values()) / 240 <= 1


def test_labels_legend_and_accessible_title_escaped():
    svg = bar_chart(TOTALS, member_label="Dept & <Region>", plan_label="Budget \"B\"",
                    title="actual vs <Budget>")
    assert "<West>" not in svg and "R&amp;D &lt;West&gt;" in svg
    root = parse(svg)
    assert root.get("role") == "img"
    labelled = (root.get("aria-labelledby") or "").split()
    assert root.find("svg:title", NS).get("id") == labelled[0]  # type: ignore[union-attr]
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"Sales", "R&D <West>", "Ops", "Amount", "Dept & <Region>", "Actual",
            'Budget "B"'} <= set(texts)


def test_all_negative_and_empty():
    root = parse(bar_chart([MemberTotal(member="Refunds", actual=Decimal("-10"),
                                        plan=Decimal("-40"))],
                           member_label="Account", plan_label="Budget", title="t"))
    found = bars(root)
    zero = zero_line(root)
    actual, plan = found[("Refunds", "actual")], found[("Refunds", "plan")]
    assert abs(float(actual.get("y", 0)) - zero) < 0.01
    assert abs(float(plan.get("height", 0)) / float(actual.get("height", 1)) - 4) < 0.01
    empty = parse(bar_chart([], member_label="Account", plan_label="Budget", title="t"))
    assert not bars(empty) and "No amounts" in "".join(empty.itertext())
