"""The ``translate:`` and ``fx:`` keys: what they accept, and errors naming key and fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ml_connector.fx import FxColumns, FxSource, Translate


def error(model, data) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


def test_a_translation_states_its_currency_and_rate_type():
    assert Translate.model_validate({"to": "USD", "rate": "average"}).rate == "average"
    assert "rate: state the rate type of the column: month_end" in error(
        Translate, {"to": "USD"})
    assert "Input should be 'month_end' or 'average'" in error(
        Translate, {"to": "USD", "rate": "closing"})
    for bad in ("usd", "US", "USDX", 840):
        assert "to\n  Value error, expected an ISO 4217 currency code, three capital" in error(
            Translate, {"to": bad, "rate": "average"})
    assert "Extra inputs are not permitted" in error(
        Translate, {"to": "USD", "rate": "average", "from": "GBP"})


def test_each_source_has_its_defaults():
    zoho = FxSource.model_validate({"source": "zoho", "organization": "us"})
    assert (zoho.organization, zoho.lookback_days) == ("us", 31)
    anaplan = FxSource.model_validate({"source": "anaplan", "export": "FX Rates.csv"})
    assert anaplan.columns == FxColumns(currency="Currency", period="Period",
                                        month_end="Month End", average="Average")
    assert FxSource.model_validate({"source": "csv", "file": "fx.csv"}).file == "fx.csv"


@pytest.mark.parametrize(("data", "message"), [
    ({"source": "anaplan"}, "export: needed with source: anaplan: the export (116... or its "
     "name) of the FX module"),
    ({"source": "csv"}, "file: needed with source: csv: a CSV file beside flows.yaml with the "
     "header currency,month,month_end,average"),
    ({"source": "csv", "file": "fx.csv", "lookback_days": 40},
     "lookback_days: only with source: zoho (this fx reads source: csv); remove it"),
    ({"source": "zoho", "organization": "us", "export": "FX"},
     "export: only with source: anaplan (this fx reads source: zoho); remove it"),
    ({"source": "anaplan", "export": "FX", "file": "fx.csv"},
     "file: only with source: csv (this fx reads source: anaplan)"),
    ({"source": "csv", "file": "fx.csv", "columns": {}}, "columns: only with source: anaplan"),
    ({"source": "ecb"}, "Input should be 'zoho', 'anaplan' or 'csv'"),
    ({"source": "zoho", "organization": "us", "lookback_days": -1},
     "greater than or equal to 0"),
    ({"source": "anaplan", "export": "FX", "columns": {"rate": "Rate"}},
     "Extra inputs are not permitted"),
])
def test_a_wrong_fx_names_the_key_and_the_fix(data, message):
    assert message in error(FxSource, data)
