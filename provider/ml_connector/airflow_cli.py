"""The ``airflow`` command, run by ml-connector's own commands (``init``, ``doctor``, the
authorize commands) where Airflow is installed and configured."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: What Airflow prints while its database was never migrated (``airflow db migrate``).
UNMIGRATED = ("Database migration required", "airflow db migrate", "no such table",
              "UndefinedTable")  # the last two: SQLite's and PostgreSQL's missing table
MIGRATE_FIRST = "Airflow's database is not migrated yet: run `airflow db migrate` first"


def unmigrated(said: str) -> bool:
    """Whether an ``airflow`` command's output says its database needs migrating."""
    return any(sign in said for sign in UNMIGRATED)


def pools_hint(flows: object) -> str:
    """The commands that create a flows file's pools by hand."""
    return f"ml-connector pools --flows {flows} > pools.json && airflow pools import pools.json"


def airflow_command() -> str | None:
    """The ``airflow`` program: on ``PATH``, else beside this Python; None when neither."""
    beside = Path(sys.executable).with_name("airflow")
    return shutil.which("airflow") or (str(beside) if beside.exists() else None)


def import_file(kind: str, records: dict[str, Any], *options: str) -> str | None:
    """``airflow <kind> import [options] <file>`` of ``records`` (connections or pools),
    through a file only this user can read, deleted after; None, or why it failed."""
    command = airflow_command()
    if command is None:
        return "airflow is not on PATH"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(records))
        done = subprocess.run([command, kind, "import", *options, str(path)],
                              capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    if unmigrated(done.stdout + done.stderr):
        return MIGRATE_FIRST
    said = (done.stderr or done.stdout).strip().splitlines()
    return said[-1] if said else f"exit status {done.returncode}"


def listing(*args: str) -> list[dict]:
    """The JSON list an ``airflow ... -o json`` command prints after its log lines."""
    command = airflow_command()
    if command is None:
        raise FileNotFoundError("airflow is not on PATH")
    out = subprocess.run([command, *args, "-o", "json"], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    return json_list(out)


def json_list(out: str) -> list[dict]:
    """The last JSON list in an ``airflow ... -o json`` command's output (its log lines
    come first); empty when it printed none."""
    lines = [line for line in out.splitlines() if line.startswith(("[{", "[]"))]
    return json.loads(lines[-1]) if lines else []
