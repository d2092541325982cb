"""Currency translation: exchange rates per currency and month from Zoho Books, an Anaplan
export or a CSV file, and amounts translated to a group currency with them."""

from ml_connector.errors import MissingRate
from ml_connector.fx.models import FxColumns, FxSource, RateKind, Translate
from ml_connector.fx.rates import MonthRates, Rates, month_key
from ml_connector.fx.read import read_rates
from ml_connector.fx.tables import anaplan_rates, csv_rates
from ml_connector.fx.zoho import zoho_rates

__all__ = [
    "FxColumns",
    "FxSource",
    "MissingRate",
    "MonthRates",
    "RateKind",
    "Rates",
    "Translate",
    "anaplan_rates",
    "csv_rates",
    "month_key",
    "read_rates",
    "zoho_rates",
]
