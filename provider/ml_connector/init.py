"""``ml-connector init``: the starter flows file and DAG files in an Airflow DAGs folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path

from ml_connector.flows.spec import load_flows
from ml_connector.transport.errors import ConfigError

#: The files ``init`` writes, from the package's ``starter`` data (the repository's dags/).
STARTER = ("flows.yaml", "flows.py", "flows_check.py")


def write_starter(dags_folder: Path, *, force: bool = False) -> list[Path]:
    """Write the starter files into ``dags_folder/ml_connector``; refuse to overwrite one
    that exists unless ``force``. Returns the files written."""
    target = dags_folder / "ml_connector"
    existing = [target / name for name in STARTER if (target / name).exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(map(str, existing))} exist already; keep them, or "
                          "pass --force to replace them with the starter files")
    target.mkdir(parents=True, exist_ok=True)
    source = files("ml_connector") / "starter"
    written = []
    for name in STARTER:
        path = target / name
        path.write_bytes((source / name).read_bytes())
        written.append(path)
    return written


def pools_command(flows: Path) -> tuple[list[str], str]:
    """The ``airflow pools import`` command for a flows file's pools, and the JSON it
    reads (written to a temporary file by ``create_pools``)."""
    return ["airflow", "pools", "import"], json.dumps(load_flows(flows).defaults.pools(),
                                                     indent=2)


def create_pools(flows: Path) -> str:
    """Create the flows' pools with the ``airflow`` command; what happened, as a line to
    print (with the exact command when it could not run)."""
    command, pools = pools_command(flows)
    if shutil.which(command[0]) is None:
        return ("airflow is not on PATH: create the pools with `ml-connector pools --flows "
                f"{flows} > pools.json && airflow pools import pools.json`")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(pools)
    done = subprocess.run([*command, handle.name], capture_output=True, text=True,
                          check=False)
    Path(handle.name).unlink(missing_ok=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return (f"airflow pools import failed ({tail[0]}): create the pools with "
                f"`ml-connector pools --flows {flows} > pools.json && airflow pools import "
                "pools.json`")
    return f"created the pools {', '.join(json.loads(pools))} (airflow pools import)"
