"""docker-compose.yml, checked structurally (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.topology import compose

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                    "airflow-worker": "celery worker"}


def test_services_mirror_the_official_airflow_3_layout():
    services = compose()["services"]
    assert set(services) >= {"postgres", "redis", "airflow-init", "ml-connector-sandbox",
                             *AIRFLOW_SERVICES}
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
        assert services[name]["depends_on"]["airflow-init"] == {
            "condition": "service_completed_successfully"}
    assert services["ml-connector-sandbox"]["profiles"] == ["sandbox"]
    sandbox = services["ml-connector-sandbox"]
    assert sandbox["command"][0] == "up" and sandbox["build"]["dockerfile"] == "sandbox/Dockerfile"
    # The sandbox has its own image: the provider's image installs no emulator.
    dockerfile = (ROOT / "sandbox" / "Dockerfile").read_text()
    assert "pip install --no-cache-dir /opt/ml-connector-sandbox" in dockerfile
    assert "ENTRYPOINT [\"ml-connector-sandbox\"]" in dockerfile
    assert "sandbox" not in (ROOT / "Dockerfile").read_text().lower()


def test_every_airflow_service_runs_the_image_with_the_package():
    services = compose()["services"]
    images = {services[n]["image"] for n in [*AIRFLOW_SERVICES, "airflow-init"]}
    assert len(images) == 1 and all(services[n]["build"] == "."
                                    for n in [*AIRFLOW_SERVICES, "airflow-init"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:", dockerfile, re.M)
    assert "pip install" in dockerfile and "/opt/ml-connector" in dockerfile
    for copied in re.findall(r"^COPY\s+(?:--\S+\s+)*(.+?)\s+\S+$", dockerfile, re.M):
        for part in copied.split():
            assert (ROOT / part).exists(), f"Dockerfile copies missing {part}"


def test_shared_environment_and_paths():
    services = compose()["services"]
    envs = [services[n]["environment"] for n in [*AIRFLOW_SERVICES, "airflow-init"]]
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW_CONN_ML_CONNECTOR_STATE",
                "AIRFLOW__CELERY__BROKER_URL"):
        assert len({env[key] for env in envs}) == 1, key
    env = envs[0]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:")
    assert env["AIRFLOW_CONN_ML_CONNECTOR_STATE"].startswith("postgresql://")
    assert "ml-connector-sandbox:8765" in env["AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"]
    # The sandbox's admin routes are unauthenticated: published on this machine only.
    assert services["ml-connector-sandbox"]["ports"] == ["127.0.0.1:8765:8765"]
    for name in AIRFLOW_SERVICES:
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose()["volumes"], f"{name} uses undeclared {source}"
    assert (ROOT / "dags" / "flows.yaml").exists()


def test_init_creates_the_pools_the_flows_use():
    init = "\n".join(compose()["services"]["airflow-init"]["command"])
    assert "ml-connector pools --flows /opt/airflow/dags/flows.yaml" in init
    assert "airflow pools import /tmp/pools.json" in init


def test_the_webhook_receiver_is_a_service_of_the_provider_image():
    services = compose()["services"]
    hooks = services["ml-connector-webhooks"]
    assert hooks["image"] == services["airflow-scheduler"]["image"]
    assert hooks["entrypoint"] == ["ml-connector"] and hooks["command"][:2] == ["webhooks",
                                                                                 "serve"]
    port = hooks["command"][hooks["command"].index("--port") + 1]
    assert hooks["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert hooks["environment"]["AIRFLOW_CONN_ML_CONNECTOR_STATE"] == \
        services["airflow-triggerer"]["environment"]["AIRFLOW_CONN_ML_CONNECTOR_STATE"]
    # The sandbox sends its webhooks there, signed with the connection's secret.
    import json

    extra = json.loads(hooks["environment"]["AIRFLOW_CONN_ZOHO_BOOKS_DEFAULT"])["extra"]
    sandbox = services["ml-connector-sandbox"]["command"]
    target = sandbox[sandbox.index("--webhook") + 1]
    assert target == f"{extra['organization_id']}=http://ml-connector-webhooks:{port}/zoho/" \
        f"{extra['organization_id']}"
    assert sandbox[sandbox.index("--webhook-secret") + 1] == extra["webhook_secret"]


def test_the_sandbox_profile_runs_doctor_once_the_stack_is_up():
    services = compose()["services"]
    doctor = services["ml-connector-doctor"]
    assert doctor["profiles"] == ["sandbox"] and doctor["restart"] == "no"
    assert doctor["entrypoint"] == ["ml-connector"] and doctor["command"][0] == "doctor"
    flows = doctor["command"][doctor["command"].index("--flows") + 1]
    assert flows.startswith("/opt/airflow/dags/")  # the mounted ./dags
    assert doctor["depends_on"]["airflow-scheduler"] == {"condition": "service_healthy"}
    assert doctor["image"] == services["airflow-scheduler"]["image"]


def test_the_topology_test_runs_what_compose_declares():
    """tests/topology.py starts compose's services as processes with compose's own
    commands and environment: every service is started there or named as stood in for,
    and what it changes is only addresses, homes, hostnames and the machine's size."""
    from tests.topology import ELSEWHERE, LOCAL, PROCESSES, Topology, interpolate

    services = compose()["services"]
    assert set(services) == set(PROCESSES) | set(ELSEWHERE)
    assert not set(PROCESSES) & set(ELSEWHERE)
    # What the topology overrides never touches how the services talk to each other.
    assert not {k for k in LOCAL if "SQL_ALCHEMY" in k or "BROKER" in k or "CONN_" in k
                or "JWT" in k or "FERNET" in k}
    stack = Topology.__new__(Topology)
    stack.spec, stack.paths = compose(), {"/opt/airflow/dags": ROOT / "dags"}
    stack.ports = {"ml-connector-webhooks": 1}
    assert stack.command("airflow-worker")[1:] == ["celery", "worker"]
    assert stack.command("ml-connector-webhooks")[1:4] == ["webhooks", "serve", "--host"]
    # Variables the operator must set are named, not left empty.
    env = services["airflow-scheduler"]["environment"]
    with pytest.raises(KeyError, match="AIRFLOW__API_AUTH__JWT_SECRET"):
        interpolate(env["AIRFLOW__API_AUTH__JWT_SECRET"], {})
    assert interpolate(env["AIRFLOW__CORE__FERNET_KEY"], {}) == ""


def test_every_service_shares_the_token_secret():
    """Without one shared [api_auth] jwt_secret each container makes up its own and the
    api-server refuses every task the scheduler starts ("Invalid auth token")."""
    services = compose()["services"]
    secrets = {services[n]["environment"].get("AIRFLOW__API_AUTH__JWT_SECRET")
               for n in [*AIRFLOW_SERVICES, "airflow-init"]}
    assert len(secrets) == 1 and None not in secrets
