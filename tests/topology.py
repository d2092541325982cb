"""docker-compose.yml's services as processes on this machine (no Docker engine here).

Each service runs the command and the environment compose gives it. What a container
would make different is made different here, and only that (``LOCAL``): service names
become loopback ports; each process has its own ``AIRFLOW_HOME`` and ``HOSTNAME`` (two
workers stand in for two machines); the volumes (dags, logs, staging) are shared folders.
The emulators run in the test's own process, serving the same API.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
import yaml
from cryptography.fernet import Fernet

from ml_connector.airflow_cli import json_list

from .servers import die_with_parent, free_port, postgres_server, redis_server

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
BIN = Path(sys.executable).parent
#: The compose services started as processes by ``Topology`` (the rest: ``ELSEWHERE``).
PROCESSES = ["postgres", "redis", "airflow-init", "airflow-apiserver", "airflow-scheduler",
             "airflow-dag-processor", "airflow-triggerer", "airflow-worker",
             "ml-connector-webhooks"]
#: Compose services the topology does not start itself, and who stands in for them.
ELSEWHERE = {"ml-connector-sandbox": "the emulators, served from the test's process",
             "ml-connector-doctor": "run by the test once the stack is up"}
#: The emulators' company for the topology: a smaller Zillum Inc at Zoho's real limits
#: (100 requests a minute), so a month reads in about a minute.
SANDBOX = {"zoho": {"organizations": [{
    "organization_id": "10234695", "name": "Zillum Inc", "region": "us",
    "currency_code": "USD", "foreign_currencies": ["EUR"], "invoices": 90, "bills": 30,
    "purchaseorders": 6, "creditnotes": 8, "vendorcredits": 3, "customers": 12,
    "vendors": 8}]}, "anaplan": {"rate_per_minute": 1_000_000}}
#: Settings a machine of this size and a test's time need, on top of compose's.
LOCAL = {
    "AIRFLOW__CORE__PARALLELISM": "4",
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "3",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    # A killed worker's tasks are failed (and retried elsewhere) after 40 s, not 300.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "40",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # A container's hostname is its own; here each process says which machine it is.
    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.topology.hostname",
    "PYTHONPATH": str(ROOT),
}


def hostname() -> str:
    """The ``[core] hostname_callable`` of the stand-in machines: ``$HOSTNAME``."""
    return os.environ["HOSTNAME"]


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}`` (``$$``: ``$``)."""
    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if name in variables:
            return variables[name]
        if op == ":?":
            raise KeyError(f"compose needs {name}: {arg}")
        return arg if op == ":-" else ""

    value = re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)
    return value.replace("$$", "$")


def localize(value: str, ports: dict[str, int], paths: dict[str, Path]) -> str:
    """A compose value with service names as loopback ports, volumes as local folders."""
    def port(match: re.Match) -> str:
        return f"127.0.0.1:{ports[match.group(1)]}"

    names = "|".join(re.escape(name) for name in sorted(ports, key=len, reverse=True))
    value = re.sub(rf"(?<=[@/])({names})(?::\d+)?(?=[/\"]|$)", port, value)
    for mount, local in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        value = value.replace(mount, str(local))
    return value


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the process and every process it started (task supervisors start their
        own sessions), at once, as a machine that is switched off."""
        with suppress(psutil.NoSuchProcess):
            family = [psutil.Process(self.popen.pid)]
            family += family[0].children(recursive=True)
            for process in family:
                with suppress(psutil.NoSuchProcess):
                    process.kill()
        self.popen.wait(30)

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL whatever of it is left."""
        family: list[psutil.Process] = []
        with suppress(psutil.NoSuchProcess):
            family = psutil.Process(self.popen.pid).children(recursive=True)
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(30)
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        for process in family:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        self.popen.wait(10)


@dataclass
class Topology:
    """The running stack: ``env(name)`` is a service's environment, ``run`` a command in
    it, ``start`` one more process of a service (a second worker)."""

    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spec = compose()
        self.paths = {"/opt/airflow/dags": ROOT / "dags",
                      "/opt/airflow/logs": self.root / "logs",
                      "/opt/airflow/staging": self.root / "staging"}
        for path in self.paths.values():
            path.mkdir(parents=True, exist_ok=True)
        #: What the operator sets in the shell before ``docker compose up``.
        self.secrets = {"AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32)}

    def env(self, service: str, instance: str | None = None) -> dict[str, str]:
        """Compose's environment of ``service``, localized, for one of its processes."""
        name = instance or service
        home = self.root / "homes" / name
        home.mkdir(parents=True, exist_ok=True)
        declared = self.spec["services"][service].get("environment", {})
        env = {k: localize(interpolate(str(v), self.secrets), self.ports, self.paths)
               for k, v in declared.items()}
        return {
            **os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **env, **LOCAL, "HOSTNAME": name, "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.paths["/opt/airflow/dags"]),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.paths["/opt/airflow/logs"]),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.ports["airflow-apiserver"]),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "false",  # one port per machine
        }

    def command(self, service: str) -> list[str]:
        """The service's command as the image runs it (entrypoint ``airflow``)."""
        spec = self.spec["services"][service]
        entry = spec.get("entrypoint", ["airflow"])
        entry = [entry] if isinstance(entry, str) else entry
        command = spec["command"]
        command = shlex.split(command) if isinstance(command, str) else list(command)
        command = [localize(part, self.ports, self.paths) for part in command]
        if entry == ["ml-connector"] and "--host" in command:
            command[command.index("--host") + 1] = "127.0.0.1"
            command[command.index("--port") + 1] = str(self.ports[service])
        return [str(BIN / entry[0]), *entry[1:], *command]

    def run(self, service: str, *args: str, check: bool = True,
            timeout: float = 600) -> subprocess.CompletedProcess:
        """A one-off command (``airflow ...``) in ``service``'s environment."""
        done = subprocess.run([str(BIN / args[0]), *args[1:]], env=self.env(service, "cli"),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return done

    def start(self, service: str, instance: str | None = None,
              extra: tuple[str, ...] = ()) -> Process:
        name = instance or service
        log = self.root / f"{name}.log"
        with log.open("w") as out:
            popen = subprocess.Popen([*self.command(service), *extra],
                                     env=self.env(service, instance), stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=die_with_parent)
        self.processes[name] = process = Process(name, popen, log)
        return process

    def init(self) -> None:
        """``airflow-init``: the image's ``_AIRFLOW_DB_MIGRATE`` and then its command (the
        folders it creates exist already; ownership is this user's)."""
        spec = self.spec["services"]["airflow-init"]
        assert spec["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
        self.run("airflow-init", "airflow", "db", "migrate")
        script = spec["command"][-1]
        inner = re.search(r'exec /entrypoint bash -c "(.*)"', script, re.S)
        assert inner, "airflow-init's command changed shape"
        line = localize(inner.group(1).replace("\\\n", " "), self.ports, self.paths)
        line = line.replace("/tmp/pools.json", str(self.root / "pools.json"))
        env = self.env("airflow-init", "init")
        subprocess.run(["bash", "-c", line], env=env, check=True, capture_output=True,
                       text=True, timeout=600)

    def wait_http(self, url: str, name: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with suppress(httpx.HTTPError):
                if httpx.get(url, timeout=3).status_code < 500:
                    return
            process = self.processes[name]
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {process.log.read_text()[-3000:]}")
            time.sleep(1)

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()

    def airflow(self, *args: str) -> str:
        """``airflow ...`` as a user runs it on one of the machines; its output."""
        return self.run("airflow-scheduler", "airflow", *args).stdout

    def runs(self, dag_id: str) -> list[dict]:
        return json_list(self.airflow("dags", "list-runs", dag_id, "-o", "json"))

    def finished(self, dag_id: str, count: int, kind: str = "") -> list[dict] | None:
        """The DAG's runs once ``count`` runs whose id starts with ``kind`` are among them
        and every run has ended."""
        found = self.runs(dag_id)
        done = [r for r in found if r["state"] in ("success", "failed")]
        of_kind = [r for r in found if r["run_id"].startswith(kind)]
        return found if len(of_kind) >= count and len(done) == len(found) else None

    def wait_for(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """``check()`` once it is truthy; on timeout, the end of every service's log."""
        deadline = time.monotonic() + timeout
        while not (found := check()):
            if time.monotonic() > deadline:
                logs = {p.name: p.log.read_text()[-1500:] for p in self.processes.values()}
                raise AssertionError(f"timed out waiting for {what}; {logs}")
            time.sleep(3)
        return found

    def query(self, sql: str, *args: object) -> list[tuple]:
        """Rows of Airflow's database, which holds the state store too."""
        import psycopg

        db = self.spec["services"]["postgres"]["environment"]
        with psycopg.connect(f"postgresql://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}"
                             f"@127.0.0.1:{self.ports['postgres']}/{db['POSTGRES_DB']}") as conn:
            return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def _create_database(server_url: str, user: str, password: str, database: str) -> None:
    import psycopg

    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {user} LOGIN SUPERUSER PASSWORD '{password}'")
        conn.execute(f"CREATE DATABASE {database} OWNER {user}")


@contextmanager
def topology(root: Path, sandbox_url: str, workers: int = 2) -> Iterator[Topology]:
    """PostgreSQL, Redis and the Airflow services of docker-compose.yml, with ``workers``
    Celery workers (``worker-1``, ...), until the block ends."""
    with ExitStack() as stack:
        spec = compose()["services"]
        pg = stack.enter_context(postgres_server())
        db = spec["postgres"]["environment"]
        _create_database(pg, db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"])
        redis = stack.enter_context(redis_server())
        stack_ = Topology(root, ports={
            "postgres": int(pg.rsplit(":", 1)[1].split("/")[0]),
            "redis": int(redis.rsplit(":", 1)[1].split("/")[0]),
            "airflow-apiserver": free_port(), "ml-connector-webhooks": free_port(),
            "ml-connector-sandbox": int(sandbox_url.rsplit(":", 1)[1])})
        stack.callback(stack_.stop)
        stack_.init()
        api = stack_.start("airflow-apiserver")
        stack_.wait_http(f"http://127.0.0.1:{stack_.ports['airflow-apiserver']}/api/v2/version",
                         api.name)
        for service in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
            stack_.start(service)
        for n in range(1, workers + 1):
            stack_.start("airflow-worker", f"worker-{n}",
                         ("--celery-hostname", f"worker-{n}@%h"))
        hook = stack_.start("ml-connector-webhooks")
        stack_.wait_http(f"http://127.0.0.1:{stack_.ports['ml-connector-webhooks']}/healthz",
                         hook.name)
        yield stack_
