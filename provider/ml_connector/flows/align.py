"""Plan-vs-actual alignment of one month: a flow's actual cells beside a plan version's cells
(e.g. Budget), key by key (account x member ...), with the Zoho values the run routed to a
default or unmapped member, and thresholds deciding what fails.

A key with actuals and no plan (or a plan of 0) is ``unplanned``; one with a plan and no
actuals is ``unactual``; one with both is ``aligned``. A key that is 0 on both sides is left
out (exports hold every combination). Amounts are rounded half-up to the cent; thresholds
compare absolute amounts, so credits count like debits. Nothing here reads Zoho or Anaplan.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Literal

from pydantic import BaseModel, Field

from ml_connector.errors import ConfigError
from ml_connector.flows.build import CENT
from ml_connector.flows.spec import Column
from ml_connector.flows.verify import ZERO, Key, number

Kind = Literal["unplanned", "unactual", "aligned"]
Breach = Literal["unplanned_above", "variance_above_percent"]
#: The order rows are listed in.
KINDS: tuple[Kind, ...] = ("unplanned", "unactual", "aligned")
HUNDRED = Decimal(100)


def cents(value: Decimal) -> Decimal:
    """``value`` half-up to the cent (never -0.00)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + ZERO


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}%"


class RoutedValue(BaseModel):
    """A Zoho value of a dimension column the build routed to a member it does not name:
    ``value`` None for lines that carried no value (given the column's ``default``)."""

    column: str
    value: str | None
    member: str
    lines: int

    def describe(self) -> str:
        if self.value is None:
            return (f"{self.column}: {self.lines:,} line(s) carried no value and got the "
                    f"default member {self.member}")
        return (f"{self.column}: {self.value!r} has no mapping, routed to {self.member} "
                f"({self.lines:,} line(s))")


def routed_values(defaulted: Mapping[str, int], unmapped: Mapping[str, Mapping[str, int]],
                  columns: Mapping[str, Column]) -> list[RoutedValue]:
    """The routed values of a build (``BuildResult.defaulted`` and ``.unmapped``) with the
    members the flow's ``columns`` route them to, by column, most lines first."""
    out = [RoutedValue(column=c, value=None, member=columns[c].default or "", lines=n)
           for c, n in sorted(defaulted.items()) if n]
    for c, values in sorted(unmapped.items()):
        out += [RoutedValue(column=c, value=v, member=columns[c].unmapped, lines=n)
                for v, n in sorted(values.items(), key=lambda vn: (-vn[1], vn[0]))]
    return out


class Row(BaseModel):
    """One key: actual and plan (0: no cell), actual - plan, its percent of |plan| (None
    when the plan is 0), its kind and the threshold it breaches, if any."""

    key: list[str]
    actual: Decimal
    plan: Decimal
    difference: Decimal
    percent: Decimal | None
    kind: Kind
    breach: Breach | None = None


class MemberTotal(BaseModel):
    """A member's actual and plan summed over the key's other columns (accounts)."""

    member: str
    actual: Decimal
    plan: Decimal
    name: str = ""  # the member's name in Anaplan (its code when unknown)


class Alignment(BaseModel):
    """A month's actual cells against a plan version's, row by row."""

    columns: list[str]  # the key's column names, e.g. Account, Department
    version: str  # the plan version, e.g. Budget
    unplanned_above: Decimal | None = None
    variance_above_percent: Decimal | None = None
    rows: list[Row] = Field(default_factory=list)
    routed: list[RoutedValue] = Field(default_factory=list)
    names: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="key column -> member code -> its name in Anaplan")

    def label(self, column: str, code: str) -> str:
        """The member's name in Anaplan, else its code."""
        return self.names.get(column, {}).get(code) or code

    def shown(self, key: Sequence[str]) -> str:
        """A key as a person reads it: member names joined by ' / '."""
        return " / ".join(self.label(c, k) for c, k in zip(self.columns, key, strict=True))

    @property
    def ok(self) -> bool:
        return not self.breaches

    @property
    def breaches(self) -> list[Row]:
        return [r for r in self.rows if r.breach is not None]

    def of_kind(self, kind: Kind) -> list[Row]:
        return [r for r in self.rows if r.kind == kind]

    def totals(self) -> tuple[Decimal, Decimal]:
        """(actual, plan) over every row."""
        return (sum((r.actual for r in self.rows), ZERO), sum((r.plan for r in self.rows), ZERO))

    def member_totals(self, column: str | None = None) -> list[MemberTotal]:
        """Actual and plan per member of ``column`` (default: the key's last column),
        summed over the other columns, by member."""
        at = self.columns.index(column) if column is not None else len(self.columns) - 1
        sums: dict[str, tuple[Decimal, Decimal]] = {}
        for row in self.rows:
            actual, plan = sums.get(row.key[at], (ZERO, ZERO))
            sums[row.key[at]] = (actual + row.actual, plan + row.plan)
        name = self.columns[at]
        return [MemberTotal(member=m, actual=a, plan=p, name=self.label(name, m))
                for m, (a, p) in sorted(sums.items())]

    def lines(self) -> list[str]:
        """A fixed-width table (header, a row per key, totals), then the routed values and
        the breaches: for a task log or the CLI."""
        if not self.rows:
            return [f"nothing to align: no actual or {self.version} cells"] + [
                r.describe() for r in self.routed]
        label = " / ".join(self.columns)
        width = max(len(label), 5, *(len(self.shown(r.key)) for r in self.rows))
        def line(key: str, actual: str, plan: str, diff: str, pct: str, kind: str) -> str:
            return f"{key:<{width}} {actual:>16} {plan:>16} {diff:>16} {pct:>10}  {kind}".rstrip()

        counts = ", ".join(f"{len(self.of_kind(k))} {k}" for k in KINDS)
        out = [f"actual vs {self.version}: {len(self.rows)} row(s) ({counts})",
               line(label, "actual", self.version, "difference", "percent", "kind")]
        out += [line(self.shown(r.key), _money(r.actual), _money(r.plan),
                     _money(r.difference), _percent(r.percent),
                     r.kind + (f" (fails {r.breach})" if r.breach else ""))
                for r in self.rows]
        actual, plan = self.totals()
        out.append(line("total", _money(actual), _money(plan), _money(actual - plan),
                        _percent(_share(actual - plan, plan)), ""))
        out += [r.describe() for r in self.routed]
        if self.breaches:
            limits = {"unplanned_above": f"unplanned above {self.unplanned_above}",
                      "variance_above_percent":
                          f"variance above {self.variance_above_percent}%"}
            out.append(f"{len(self.breaches)} row(s) fail: " + "; ".join(
                f"{self.shown(r.key)} ({limits[r.breach]})"
                for r in self.breaches if r.breach is not None))
        return out

    def write_csv(self, stream: IO[str]) -> None:
        """The rows as CSV with a header row (plain amounts, no thousands separators): the
        key's codes, then the names of the columns whose members have names."""
        named = [c for c in self.columns if c in self.names]
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([*self.columns, *(f"{c} name" for c in named), "version", "actual",
                         "plan", "difference", "percent", "kind", "breach"])
        for r in self.rows:
            key = dict(zip(self.columns, r.key, strict=True))
            writer.writerow([*r.key, *(self.label(c, key[c]) for c in named), self.version,
                             r.actual, r.plan, r.difference,
                             "" if r.percent is None else r.percent, r.kind, r.breach or ""])

    def csv_text(self) -> str:
        stream = io.StringIO()
        self.write_csv(stream)
        return stream.getvalue()


def _share(difference: Decimal, plan: Decimal) -> Decimal | None:
    return None if plan == 0 else cents(difference / abs(plan) * HUNDRED)


def align(actual: Mapping[Key, Decimal], plan: Mapping[Key, Decimal], *,
          columns: Sequence[str], version: str, routed: Iterable[RoutedValue] = (),
          unplanned_above: Decimal | None = None,
          variance_above_percent: Decimal | None = None,
          names: Mapping[str, Mapping[str, str]] | None = None) -> Alignment:
    """``actual`` against ``plan`` (key -> amount, one month). An unplanned row fails when
    |actual| exceeds ``unplanned_above``; a planned row when its |percent| (to the cent)
    exceeds ``variance_above_percent``; None: that threshold is off."""
    result = Alignment(columns=list(columns), version=version, unplanned_above=unplanned_above,
                       variance_above_percent=variance_above_percent, routed=list(routed),
                       names={c: dict(n) for c, n in (names or {}).items()})
    for key in {*actual, *plan}:
        if len(key) != len(columns):
            raise ValueError(f"cell key {key!r} does not match the columns "
                             f"{', '.join(columns)}")
        a, p = cents(actual.get(key, ZERO)), cents(plan.get(key, ZERO))
        if a == 0 and p == 0:
            continue
        kind: Kind = "unplanned" if p == 0 else "unactual" if a == 0 else "aligned"
        percent = _share(a - p, p)
        breach: Breach | None = None
        if kind == "unplanned" and unplanned_above is not None and abs(a) > unplanned_above:
            breach = "unplanned_above"
        elif (percent is not None and variance_above_percent is not None
              and abs(percent) > variance_above_percent):
            breach = "variance_above_percent"
        result.rows.append(Row(key=list(key), actual=a, plan=p, difference=a - p,
                               percent=percent, kind=kind, breach=breach))
    result.rows.sort(key=lambda r: (KINDS.index(r.kind), r.key))
    return result


def version_cells(data: bytes, *, export: str, columns: Mapping[str, str], keys: Sequence[str],
                  period: str, amount: str, version: str, versions: Iterable[str],
                  months: Iterable[str]) -> dict[str, dict[str, dict[Key, Decimal]]]:
    """version -> month label -> key -> amount, of an export's CSV ``data`` (``export``
    names it in errors): ``columns`` maps the flow's columns to the export's, ``keys`` are
    the key columns aligned (the period left out), ``version`` the export's version column;
    only ``versions`` and ``months`` are kept."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, [])
    at = {name: i for i, name in enumerate(header)}
    wanted = [columns[c] for c in (*keys, period, amount)] + [version]
    missing = [c for c in wanted if c not in at]
    if missing:
        raise ConfigError(f"export {export} has no column {', '.join(missing)}; its columns: "
                          f"{', '.join(header)} (fix align in flows.yaml)")
    key_at = [at[columns[k]] for k in keys]
    month_at, amount_at, version_at = at[columns[period]], at[columns[amount]], at[version]
    found: dict[str, dict[str, dict[Key, Decimal]]] = {
        v: {m: {} for m in months} for v in versions}
    for row in reader:
        if not row or (cells := found.get(row[version_at], {}).get(row[month_at])) is None:
            continue
        key = tuple(row[i] for i in key_at)
        cells[key] = cells.get(key, ZERO) + number(row[amount_at], f"export {export}")
    return found
