"""Rates from a flow's ``fx:`` source, whichever it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from ml_connector.errors import ConfigError
from ml_connector.fx.models import FxSource
from ml_connector.fx.rates import Rates
from ml_connector.fx.tables import anaplan_rates, csv_rates
from ml_connector.fx.zoho import zoho_rates
from ml_connector.zoho.client import ZohoBooksClient


def read_rates(source: FxSource, group: str, currencies: Iterable[str], months: Iterable[str],
               *, zoho_client: Callable[[str], ZohoBooksClient] | None = None,
               read_export: Callable[[str], bytes] | None = None,
               folder: Path | None = None) -> Rates:
    """The rates of ``currencies`` in ``group`` for ``months`` (yyyy-mm) from ``source``:
    ``zoho_client`` gives a client of an organization (by its flows.yaml key; closed after
    use), ``read_export`` runs an Anaplan export (by name or id) and returns its CSV,
    ``folder`` holds flows.yaml (and the rate file)."""
    currencies, months = list(currencies), list(months)
    if source.source == "zoho":
        if zoho_client is None:
            raise ConfigError("fx: source zoho needs a Zoho client to read the rates")
        with zoho_client(str(source.organization)) as client:
            return zoho_rates(source, client, group, currencies, months)
    if source.source == "anaplan":
        if read_export is None:
            raise ConfigError("fx: source anaplan needs an Anaplan client to read the rates")
        return anaplan_rates(source, read_export(str(source.export)), group, currencies,
                             months)
    if folder is None:
        raise ConfigError("fx: source csv needs the folder of flows.yaml to read the rates")
    return csv_rates(source, folder, group, currencies, months)
