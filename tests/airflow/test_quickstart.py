"""The README's quickstart for an existing Airflow, run as written: its commands, in order,
in one shell, from a migrated Airflow with nothing else to a month of invoice actuals in
Anaplan equal to the books."""

from __future__ import annotations

import re
import shlex
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from ml_connector_sandbox.core import Sandbox, SandboxConfig
from ml_connector_sandbox.zoho.pnl import actuals

from ..airflow_env import ANAPLAN_MODEL, airflow_env, migrate
from ..servers import free_port

pytestmark = pytest.mark.airflow
ROOT = Path(__file__).resolve().parents[2]
ORG = "10234695"
#: The one change to the README's commands: a sandbox at 60 times Zoho's per-minute limit
#: (the connections it writes get a budget to match), so that January's 1,092 requests
#: take seconds rather than twelve minutes. Said here, out loud.
FAST = "zoho:\n  limits: {per_minute: 6000}\n"


def quickstart_commands(heading: str) -> list[str]:
    """The commands of the README's shell block that follows ``heading``'s text."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(heading):]
    block = re.search(r"```bash\n(.*?)```", after, re.S)
    assert block, f"a ```bash block after {heading!r}"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines()
            if line.strip()]


def test_the_existing_airflow_quickstart_loads_january_as_the_books_say(tmp_path):
    commands = quickstart_commands("In an existing Airflow (3.1 or newer")
    assert len(commands) <= 6, "the issue's bound: six commands in an existing Airflow"
    assert commands[0].startswith("pip install ml-connector"), "installed here already"
    env = airflow_env(tmp_path / "home", tmp_path / "home" / "dags", {})
    migrate(env)
    (tmp_path / "fast.yaml").write_text(FAST)
    port = free_port()
    script = []
    for command in commands[1:]:
        if command.startswith("ml-connector sandbox up"):
            command += f" --port {port} --config {tmp_path / 'fast.yaml'}"
        script.append(command)
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=1500)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        cells_url = (f"http://127.0.0.1:{port}/_sandbox/anaplan/models/{ANAPLAN_MODEL}/"
                     "modules/Invoice Actuals/cells")
        cells = httpx.get(cells_url, timeout=30).json()
    finally:
        subprocess.run(shlex.split(f"ml-connector sandbox down --port {port}"), env=env,
                       capture_output=True, timeout=60)
    said = done.stdout + done.stderr
    assert ("Airflow connections zoho_books_default, zoho_books_eu, zoho_books_in, "
            "anaplan_default written") in said
    assert "[FAIL]" not in said and "[ok  ] lists:" in said, said[-4000:]
    assert "for January 2026" in said, "the extract names the month it reads"
    # The oracle: the emulator's own posting rules for January's documents (the same
    # deterministic organization, built here), not the connector's code.
    books = actuals(Sandbox(SandboxConfig.model_validate({"zoho": {"limits": {
        "per_minute": 6000}}})).zoho, ORG, ["invoices", "creditnotes"], date(2026, 1, 1),
        date(2026, 2, 1))
    sent = {(c["dimensions"]["Accounts"], c["dimensions"]["Time"]):
            Decimal(repr(c["values"]["Amount"])).quantize(Decimal("0.01")) for c in cells}
    assert books and sent == books
