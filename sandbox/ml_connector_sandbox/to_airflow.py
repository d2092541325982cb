"""Writing a sandbox's connections into Airflow (``sandbox up --airflow``), through the
``airflow`` command of this environment, so that they land where its tasks read them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def add_connections(connections: dict[str, dict]) -> str:
    """Import ``connections`` (id -> ``--conn-json`` fields) with ``airflow connections
    import --overwrite``; returns what was done, or raises ``RuntimeError`` saying why not."""
    airflow = shutil.which("airflow") or shutil.which("airflow", path=str(Path(sys.executable)
                                                                        .parent))
    if airflow is None:
        raise RuntimeError("the airflow command is not on PATH: install Airflow here, or add "
                           "the connections that follow by hand")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "connections.json"
        path.write_text(json.dumps(connections))
        path.chmod(0o600)
        done = subprocess.run([airflow, "connections", "import", "--overwrite", str(path)],
                              capture_output=True, text=True)
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"airflow connections import failed ({said[0]}); run `airflow db "
                           "migrate` first if Airflow's database is new")
    return f"Airflow connections {', '.join(connections)} written (airflow connections import)"
