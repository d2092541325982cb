"""``map: {export, zoho, anaplan}``: the form is told from an inline map, and an export's
CSV becomes the crosswalk table (several values per member with a separator; a value given
to two members, or a missing column, is an error naming it)."""

from __future__ import annotations

import pytest

from ml_connector.errors import ConfigError
from ml_connector.flows.member_maps import map_table
from ml_connector.flows.spec import Column, MapExport

EXPORT = b"Departments,Code,Parent,Active,Zoho Option\nSales,D1,,true,11;12\nOps,D2,,true,13\n" \
    b"Unassigned,Unassigned,,,\n"


def test_the_export_form_is_told_from_an_inline_map():
    column = Column.model_validate({"tag": "Department", "map": {
        "export": "Departments Crosswalk.csv", "zoho": "Zoho Option"}})
    assert column.map == MapExport(export="Departments Crosswalk.csv", zoho="Zoho Option")
    inline = Column.model_validate({"tag": "Department", "map": {"11": "D1"}})
    assert inline.map == {"11": "D1"}


def test_an_export_becomes_the_table_many_values_to_one_member():
    spec = MapExport(export="X", zoho="Zoho Option", separator=";")
    assert map_table(spec, EXPORT, "map") == {"11": "D1", "12": "D1", "13": "D2"}
    whole = MapExport(export="X", zoho="Zoho Option")
    assert map_table(whole, EXPORT, "map") == {"11;12": "D1", "13": "D2"}


def test_a_value_of_two_members_or_a_missing_column_is_named():
    twice = EXPORT + b"Support,D3,,true,12\n"
    with pytest.raises(ConfigError, match="'12' is mapped to two members in export 'X' "
                                          "\\('D1' and 'D3'\\)"):
        map_table(MapExport(export="X", zoho="Zoho Option", separator=";"), twice, "map")
    with pytest.raises(ConfigError, match="export 'X' has no column 'Zoho ID'; its columns: "
                                          "Departments, Code"):
        map_table(MapExport(export="X", zoho="Zoho ID"), EXPORT, "map")
