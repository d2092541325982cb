"""AnaplanEmulator: the auth service, the Integration API and the admin hooks tests use."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

from ml_connector_sandbox.anaplan import errors
from ml_connector_sandbox.anaplan.admin import build_admin_router
from ml_connector_sandbox.anaplan.api import Api
from ml_connector_sandbox.anaplan.auth import Auth
from ml_connector_sandbox.anaplan.config import AnaplanSandboxConfig
from ml_connector_sandbox.anaplan.limits import TokenBucket
from ml_connector_sandbox.anaplan.model import ModelState
from ml_connector_sandbox.anaplan.routing import Dispatcher
from ml_connector_sandbox.anaplan.stats import Stats
from ml_connector_sandbox.anaplan.tasks import TaskBoard
from ml_connector_sandbox.clock import SandboxClock
from ml_connector_sandbox.faults import Fault, FaultBoard


class AnaplanEmulator:
    """Anaplan in one process: ``router`` serves the auth service under ``/auth`` and the
    Integration API under ``/2/0`` (mount at ``/anaplan``); ``admin_router`` the test hooks
    (mount at ``/_sandbox/anaplan``)."""

    def __init__(self, config: AnaplanSandboxConfig, clock: SandboxClock,
                 faults: FaultBoard) -> None:
        self.config = config
        self.clock = clock
        self.faults = faults
        self.lock = threading.RLock()
        self.stats_book = Stats()
        self.timing = config.timing.model_copy()
        self.bucket = TokenBucket(config.rate_per_minute, clock.now())
        self.auth = Auth(config, clock, self.stats_book)
        self.workspaces = {w.id: w for w in config.workspaces}
        self.models: dict[str, ModelState] = {}
        for workspace in config.workspaces:
            for spec in workspace.models:
                model = ModelState(spec, workspace, config)
                model.tasks = TaskBoard(model, self.timing, config.dump_retention_seconds)
                self.models[spec.id] = model
        dispatcher = Dispatcher(self)
        Api(self).register(dispatcher)
        dispatcher.close()
        self.router = dispatcher.router
        self.admin_router = build_admin_router(self)

    def timestamp(self, now: float | None = None) -> str:
        """An error body's ``timestamp``: ISO 8601 UTC with milliseconds."""
        moment = datetime.fromtimestamp(self.clock.now() if now is None else now, tz=timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def error_for_fault(self, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        """Render an armed ``rate_limit``/``server_error`` fault in the Integration API's
        error shape (``Retry-After`` from ``fault.retry_after`` when set)."""
        status = 429 if fault.kind == "rate_limit" else fault.status or 500
        headers = {"content-type": "application/json"}
        if fault.kind == "rate_limit" and fault.retry_after:
            headers["Retry-After"] = fault.retry_after
        body = errors.ApiError(status).body(fault.path or "/", self.timestamp())
        return status, headers, json.dumps(body).encode()

    # -- admin -----------------------------------------------------------------------------

    def model(self, model_id: str) -> ModelState:
        """A model, its tasks settled to the sandbox clock (KeyError if unknown)."""
        model = self.models.get(model_id)
        if model is None:
            raise KeyError(f"no model {model_id}")
        model.tasks.settle(self.clock.now())
        return model

    def stats(self) -> dict:
        """Requests (``total``, ``by_path`` template -> status -> count, ``by_status``),
        ``rate_limited``, ``tokens_issued`` by kind, ``status_polls`` and
        ``min_poll_interval`` per task id."""
        return self.stats_book.snapshot()

    def reset_stats(self) -> None:
        self.stats_book.reset()

    def module_cells(self, model_id: str, module: str) -> list[dict]:
        """Cells with data of a module (name or id):
        ``[{"dimensions": {"Accounts": "4000", "Time": "Jan 26"}, "values": {"Amount": 1.5}}]``."""
        with self.lock:
            model = self.model(model_id)
            return model.settled(model.module_named(module)).rows()

    def list_items(self, model_id: str, list_name: str) -> list[dict]:
        """Items of a list (name or id): ``[{"id", "code", "name", "properties"}]``."""
        with self.lock:
            return self.model(model_id).list_named(list_name).rows()

    def file_bytes(self, model_id: str, file_id: str, user: str | None = None) -> bytes | None:
        """A file as reassembled from its chunks: ``user``'s upload, or the latest of anyone's
        (None if nothing was uploaded)."""
        with self.lock:
            model = self.model(model_id)
            now = self.clock.now()
            if user is None:
                return model.files.latest(file_id, now)
            content = model.files.content(file_id, user, now)
            return content.data if content else None

    def tasks(self, model_id: str) -> list[dict]:
        """Every task of a model with its state, timing and result."""
        with self.lock:
            model = self.model(model_id)
            now = self.clock.now()
            return [{**t.body(now), "kind": t.kind, "actionId": t.action_id, "user": t.user,
                     "startedAt": t.started, "endsAt": t.ends, "rows": [s.rows for s in t.steps]}
                    for t in model.tasks.tasks.values()]

    def set_task_duration(self, *, queue_seconds: float | None = None,
                          base_seconds: float | None = None,
                          per_row_seconds: float | None = None,
                          cancel_seconds: float | None = None) -> dict:
        """Change task timing for tasks that start from now on; returns the timing."""
        with self.lock:
            changes = {"queue_seconds": queue_seconds, "base_seconds": base_seconds,
                       "per_row_seconds": per_row_seconds, "cancel_seconds": cancel_seconds}
            for name, value in changes.items():
                if value is not None:
                    if value < 0:
                        raise ValueError(f"{name} must be >= 0")
                    setattr(self.timing, name, float(value))
            return self.timing.model_dump()

    def expire_tokens(self) -> int:
        return self.auth.expire_tokens()

    def trust_certificate(self, pem: str, user: str | None = None) -> dict:
        """Trust a certificate or CA (see ``CertificateSpec``); returns its fingerprint
        and user."""
        with self.lock:
            return self.auth.trust(pem, user)

    def set_model_state(self, model_id: str, active_state: str) -> None:
        """Set a model's ``activeState`` (``ARCHIVED`` makes its contents answer 422)."""
        with self.lock:
            self.model(model_id).active_state = active_state

    # -- description -----------------------------------------------------------------------

    def describe(self, base_url: str) -> str:
        """Endpoints, credentials and the model, enough to explore the emulator with curl."""
        base = f"{base_url.rstrip('/')}/anaplan"
        cfg = self.config
        lines = ["Anaplan emulator",
                 f"  auth service     {base}/auth   (POST /token/authenticate, /token/refresh, "
                 "/token/logout; GET /token/validate; POST /oauth/device/code, /oauth/token)",
                 f"  integration API  {base}/2/0"]
        lines += [f"  user             {u.email} / {u.password}"
                  + ("" if u.workspace_admin else "  (not workspace admin)")
                  for u in cfg.users if u.password]
        lines += [f"  certificate      {t.user or 'CA'}  sha256 {t.fingerprint.hex()[:16]}..."
                  for t in self.auth.trusted]
        lines += [f"  OAuth client     {c.client_id}  refresh token {', '.join(c.refresh_tokens)}"
                  for c in cfg.oauth_clients]
        for workspace in cfg.workspaces:
            lines.append(f"  workspace {workspace.id}  {workspace.name!r}")
            for spec in workspace.models:
                lines.append(f"    model {spec.id}  {spec.name!r}  {spec.active_state}, "
                             f"months {spec.time.first}..{spec.time.last}")
                lines += [f"      list   {x.id}  {x.name}" for x in spec.lists]
                lines += [f"      module {m.id}  {m.name}  [{' x '.join(m.dimensions)}]: "
                          + ", ".join(i.name for i in m.line_items) for m in spec.modules]
                for imp in spec.imports:
                    extra = ("  mappingParameters " + ", ".join(imp.parameters)
                             if imp.parameters else "")
                    lines.append(f"      import {imp.id}  {imp.name!r} {imp.type} -> "
                                 f"{imp.target}  file {imp.source}  headers "
                                 f"{','.join(imp.header_names)}{extra}")
                lines += [f"      process {p.id}  {p.name!r}: {' then '.join(p.actions)}"
                          for p in spec.processes]
        user = next((u for u in cfg.users if u.password), None)
        if user is not None and cfg.workspaces and cfg.workspaces[0].models:
            ws = cfg.workspaces[0]
            model = ws.models[0]
            lines += [
                "  try:",
                f"    curl -s -X POST -u '{user.email}:{user.password}' "
                f"{base}/auth/token/authenticate",
                "    curl -s -H 'Authorization: AnaplanAuthToken <tokenValue>' "
                f"{base}/2/0/workspaces/{ws.id}/models/{model.id}/imports",
                f"  admin: {base_url.rstrip('/')}/_sandbox/anaplan/stats, "
                f".../models/{model.id}/modules/<module>/cells",
            ]
        return "\n".join(lines)
