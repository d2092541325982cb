"""The FX Rates cells of the demo model, from the group company's rate series in the Zoho
sandbox: ``python -m ml_connector_sandbox.anaplan.fx_seed`` rewrites them in
``default_model.yaml`` (between the ``fx-rates`` markers); ``--check`` only says whether
they are current.

Month End: the rate in effect on the month's last day; Average: the mean over every day of
the month of the rate in effect that day (a weekend day takes Friday's), rounded half-up to
6 decimals. Months: from the first whole month of the series to the organization's last,
within the model's calendar.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import yaml

from ml_connector_sandbox.anaplan.definition import DEFAULT_MODEL, TimeSpec
from ml_connector_sandbox.zoho.config import ZohoSandboxConfig
from ml_connector_sandbox.zoho.seed import Catalog

#: The group company, whose rates (in its base currency) the model holds.
GROUP_ORG = "10234695"
BEGIN, END = "# fx-rates: begin", "# fx-rates: end"


def month_cells(config: ZohoSandboxConfig, organization_id: str = GROUP_ORG,
                labels: set[str] | None = None) -> list[tuple[str, str, Decimal, Decimal]]:
    """``(currency, "Jan 26", month end, average)`` of each foreign currency and month."""
    spec = next(o for o in config.organizations if o.organization_id == organization_id)
    rates = Catalog(config.seed, spec).rates
    out = []
    for code, series in rates.series.items():
        month = series[0][0].replace(day=1)
        if month < series[0][0]:
            month = (month + timedelta(days=32)).replace(day=1)
        while month <= spec.end_date:
            following = (month + timedelta(days=32)).replace(day=1)
            days = [month + timedelta(days=n) for n in range((following - month).days)]
            label = month.strftime("%b %y")
            if labels is None or label in labels:
                daily = [Decimal(repr(rates.rate_on(code, day))) for day in days]
                average = (sum(daily, Decimal(0)) / len(daily)).quantize(
                    Decimal("0.000001"), rounding=ROUND_HALF_UP)
                out.append((code, label, daily[-1], average))
            month = following
    return out


def yaml_lines(cells: list[tuple[str, str, Decimal, Decimal]], indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}- {{members: {{Currencies: {code}, Time: {label}}}, "
            f"values: {{Month End: {end}, Average: {average}}}}}"
            for code, label, end, average in cells]


def render(text: str, config: ZohoSandboxConfig) -> str:
    """``text`` (the model YAML) with the cells between the markers regenerated."""
    lines = text.split("\n")
    begin = next(n for n, line in enumerate(lines) if line.strip() == BEGIN)
    end = next(n for n, line in enumerate(lines) if line.strip() == END)
    indent = len(lines[begin]) - len(lines[begin].lstrip())
    model = yaml.safe_load(text)["workspaces"][0]["models"][0]
    cells = month_cells(config, labels=set(TimeSpec(**model.get("time", {})).labels()))
    return "\n".join([*lines[:begin + 1], *yaml_lines(cells, indent), *lines[end:]])


def main(argv: list[str]) -> int:
    current = DEFAULT_MODEL.read_text()
    wanted = render(current, ZohoSandboxConfig())
    if "--check" in argv:
        print("FX Rates cells are current" if wanted == current else
              "FX Rates cells are stale: run python -m ml_connector_sandbox.anaplan.fx_seed")
        return 0 if wanted == current else 1
    DEFAULT_MODEL.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
