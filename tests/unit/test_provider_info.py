"""Provider metadata: valid for Airflow's providers manager, and every module it names imports."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import airflow
import jsonschema

from ml_connector.provider_info import get_provider_info


def test_provider_info_matches_airflows_schema():
    schema = json.loads(
        (Path(airflow.__file__).parent / "provider_info.schema.json").read_text()
    )
    jsonschema.validate(get_provider_info(), schema)


def test_every_named_module_and_class_exists():
    info = get_provider_info()
    modules = [m for key in ("hooks", "operators", "sensors", "triggers")
               for entry in info[key] for m in entry["python-modules"]]
    for module in modules:
        importlib.import_module(module)
    for dotted in [c["hook-class-name"] for c in info["connection-types"]] + info["extra-links"]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted
    assert {c["connection-type"] for c in info["connection-types"]} == {"zoho_books", "anaplan"}
