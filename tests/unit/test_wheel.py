"""The provider's wheel as `pip install ml-connector` gets it: no emulator, no web app."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_provider_wheel_carries_no_sandbox(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    wheel = zipfile.ZipFile(next(tmp_path.glob("ml_connector-*.whl")))
    names = wheel.namelist()
    metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    required = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [n for n in names if "sandbox" in n], "an emulator file is in the wheel"
    assert not any(r.lower().startswith(("fastapi", "uvicorn", "ml-connector-sandbox"))
                   for r in required), required
    # What the package needs at run time is there.
    assert {"ml_connector/py.typed", "ml_connector/state/migrations/script.py.mako",
            "ml_connector/flows/run.py", "ml_connector/dag_factory.py"} <= set(names)
    # The starter files `ml-connector init` writes are the repository's dags/.
    for name in ("flows.yaml", "flows.py", "flows_check.py"):
        assert wheel.read(f"ml_connector/starter/{name}") == (ROOT / "dags" / name).read_bytes()
    # The sandbox is its own distribution, with the emulators and their data.
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT / "sandbox"), "--no-deps",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    sandbox = zipfile.ZipFile(next(tmp_path.glob("ml_connector_sandbox-*.whl"))).namelist()
    assert {"ml_connector_sandbox/server.py", "ml_connector_sandbox/anaplan/default_model.yaml",
            "ml_connector_sandbox/zoho/pnl.py"} <= set(sandbox)
    assert not [n for n in sandbox if n.startswith("ml_connector/")]
