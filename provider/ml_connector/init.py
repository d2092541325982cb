"""``ml-connector init``: the starter flows file and DAG files in an Airflow DAGs folder."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ml_connector.airflow_cli import MIGRATE_FIRST, import_file, pools_hint
from ml_connector.errors import ConfigError
from ml_connector.flows.spec import load_flows

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


def create_pools(flows: Path) -> str:
    """Create the flows' pools with ``airflow pools import``; what happened, as a line to
    print (with the commands to run by hand when it could not)."""
    pools = load_flows(flows).defaults.pools()
    failed = import_file("pools", pools)
    if failed == MIGRATE_FIRST:
        return (f"the pools were not created: {MIGRATE_FIRST}, then create them with "
                f"`{pools_hint(flows)}`")
    if failed:
        return f"the pools were not created ({failed}): create them with `{pools_hint(flows)}`"
    return f"created the pools {', '.join(pools)} (airflow pools import)"
