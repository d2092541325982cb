"""Cross-check between flows (a flow's ``crosscheck``): the cells a run sent, summed over the
columns the other flow lacks (e.g. invoice actuals by account x department x month summed
over departments), equal the cells the other flow sent for the same keys (account x month),
as the state store recorded them: no Zoho or Anaplan request is made."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from ml_connector.flows.spec import Flow
from ml_connector.flows.verify import (
    ZERO,
    Cells,
    CrossDifference,
    CrossResult,
    Key,
    Layout,
    number,
)
from ml_connector.state.cells import CellLog

Sums = dict[Key, list[Decimal]]


def summed(flow: Flow, keys: Sequence[str], amounts: Sequence[str],
           cells: Iterable[tuple[Key, Sequence[Decimal]]],
           only: Mapping[str, list[str]]) -> Sums:
    """``cells`` of ``flow`` summed by the ``keys`` columns (its other columns summed over),
    the ``amounts`` columns only; keys outside ``only`` are left out."""
    layout = Layout.of(flow)
    at = [layout.keys.index(k) for k in keys]
    measure_at = [layout.measures.index(a) for a in amounts]
    kept = [(keys.index(k), set(values)) for k, values in only.items()]
    sums: Sums = {}
    for key, values in cells:
        shared = tuple(key[i] for i in at)
        if any(shared[i] not in allowed for i, allowed in kept):
            continue
        totals = sums.setdefault(shared, [ZERO] * len(measure_at))
        for n, i in enumerate(measure_at):
            totals[n] += values[i]
    return sums


def cross_check(flow: Flow, other: Flow, sent: Cells, log: CellLog,
                months: Mapping[str, str]) -> CrossResult:
    """``flow``'s ``crosscheck`` of the cells a run ``sent`` against those ``other`` last
    sent (``log``) in ``months`` (month label -> ``yyyy-mm``). A month ``other`` has not
    sent is reported as not compared, not as a difference."""
    check = flow.crosscheck
    assert check is not None
    keys, amounts = check.shared(flow, other)
    period = keys.index(Layout.of(flow).period)
    result = CrossResult(flow=flow.id, other=other.id, fail=check.on_difference == "fail")
    mine = summed(flow, keys, amounts, sent.items(), check.only)
    layout = Layout.of(other)
    their_period = layout.keys.index(layout.period)
    for label, month in months.items():
        theirs = {k: v for k, v in log.amounts(other.id, month).items()
                  if k[their_period] == label}
        if not theirs:
            result.not_compared.append(f"not compared: {other.id} has not sent {label}")
            continue
        if any(v is None for v in theirs.values()):
            result.not_compared.append(
                f"not compared: {other.id} sent {label} before cell amounts were recorded; "
                f"run {other.id} for {label} again to compare it")
            continue
        recorded = [(k, [number(a, f"{other.id} cell {k}") for a in v or ()])
                    for k, v in theirs.items()]
        expected = summed(other, keys, amounts, recorded, check.only)
        compared = {k for k in (*mine, *expected) if k[period] == label}
        result.months[label] = len(compared)
        result.differences += _differ(keys, amounts, mine, expected, sorted(compared))
    return result


def _differ(keys: Sequence[str], amounts: Sequence[str], mine: Sums, theirs: Sums,
            compared: Iterable[Key]) -> Iterable[CrossDifference]:
    zero = [ZERO] * len(amounts)
    for key in compared:
        for n, measure in enumerate(amounts):
            a, b = mine.get(key, zero)[n], theirs.get(key, zero)[n]
            if a != b:
                yield CrossDifference(key=dict(zip(keys, key, strict=True)), measure=measure,
                                      summed=str(a), other=str(b))

