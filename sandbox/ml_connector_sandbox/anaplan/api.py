"""Routes of the auth service (``/auth/...``) and the Integration API v2 (``/2/0/...``),
relative to the emulator's mount point."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from ml_connector_sandbox.anaplan import errors
from ml_connector_sandbox.anaplan.auth import User
from ml_connector_sandbox.anaplan.definition import ImportSpec
from ml_connector_sandbox.anaplan.files import chunked
from ml_connector_sandbox.anaplan.model import ListState, ModelState
from ml_connector_sandbox.anaplan.routing import Call, Dispatcher, Reply
from ml_connector_sandbox.anaplan.tasks import Task

if TYPE_CHECKING:
    from ml_connector_sandbox.anaplan.emulator import AnaplanEmulator

SCHEMA = "https://api.anaplan.com/2/0/objects"
OCTETS = "application/octet-stream"
M = "/2/0/workspaces/{workspaceId}/models/{modelId}"
ACTIONS = {"imports": "importId", "processes": "processId", "exports": "exportId"}


def envelope(payload: dict, schema: str, paging: dict | None = None) -> dict:
    meta: dict = {"schema": f"{SCHEMA}/{schema}"}
    if paging is not None:
        meta["paging"] = paging
    return {"meta": meta, "status": {"code": 200, "message": "Success"}, **payload}


def listing(call: Call, key: str, rows: list[dict], schema: str) -> dict:
    """A list payload with ``meta.paging`` (``offset``/``limit`` query parameters)."""
    try:
        offset = max(0, int(call.query.get("offset", 0)))
        limit = max(0, int(call.query.get("limit", len(rows))))
    except ValueError:
        raise errors.bad_request("offset and limit must be integers") from None
    page = rows[offset:offset + limit]
    return envelope({key: page}, schema,
                    {"currentPageSize": len(page), "offset": offset, "totalSize": len(rows)})


def chunk_rows(chunks: list[bytes]) -> list[dict]:
    return [{"id": str(n), "name": f"Chunk {n}"} for n in range(len(chunks))]


def pick_chunk(chunks: list[bytes], number: str) -> Reply:
    if not number.isdigit() or int(number) >= len(chunks):
        raise errors.not_found()
    return Reply(body=chunks[int(number)], media_type=OCTETS)


def form(call: Call) -> dict[str, str]:
    """Query parameters overlaid with a form-encoded or JSON body."""
    params = dict(call.query)
    if call.headers.get("content-type", "").startswith("application/json"):
        params.update({k: str(v) for k, v in call.json().items()})
    else:
        params.update(parse_qsl(call.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


class Api:
    """The handlers, registered on a ``Dispatcher`` by ``register``."""

    def __init__(self, emu: AnaplanEmulator) -> None:
        self.emu = emu
        self.auth = emu.auth

    def register(self, d: Dispatcher) -> None:
        d.add("POST", "/auth/token/authenticate", self.authenticate)
        d.add("POST", "/auth/token/refresh", self.refresh)
        d.add("GET", "/auth/token/validate", self.validate)
        d.add("POST", "/auth/token/logout", self.logout)
        d.add("POST", "/auth/oauth/device/code", self.device_code)
        d.add("POST", "/auth/oauth/token", self.oauth_token)
        d.add("GET", "/2/0/users/me", self.me)
        d.add("GET", "/2/0/workspaces", self.workspaces)
        d.add("GET", "/2/0/workspaces/{workspaceId}", self.workspace)
        d.add("GET", "/2/0/workspaces/{workspaceId}/models", self.models)
        d.add("GET", M, self.model_details)
        d.add("GET", "/2/0/models", self.models)
        d.add("GET", "/2/0/models/{modelId}", self.model_details)
        d.add("GET", f"{M}/files", self.files)
        d.add("POST", f"{M}/files/{{fileId}}", self.begin_upload)
        d.add("PUT", f"{M}/files/{{fileId}}", self.put_file)
        d.add("POST", f"{M}/files/{{fileId}}/complete", self.complete_upload)
        d.add("GET", f"{M}/files/{{fileId}}", self.file_whole)
        d.add("GET", f"{M}/files/{{fileId}}/chunks", self.file_chunks)
        d.add("GET", f"{M}/files/{{fileId}}/chunks/{{chunkId}}", self.file_chunk)
        d.add("PUT", f"{M}/files/{{fileId}}/chunks/{{chunkId}}", self.put_chunk)
        d.add("GET", f"{M}/imports", self.imports)
        d.add("GET", f"{M}/imports/{{importId}}", self.import_metadata)
        d.add("GET", f"{M}/exports", self.exports)
        d.add("GET", f"{M}/exports/{{exportId}}", self.export_metadata)
        d.add("GET", f"{M}/processes", self.processes)
        d.add("GET", f"{M}/processes/{{processId}}", self.process_metadata)
        for kind, key in ACTIONS.items():
            tasks = f"{M}/{kind}/{{{key}}}/tasks"
            d.add("GET", tasks, self.tasks)
            d.add("POST", tasks, self.start_task)
            d.add("GET", f"{tasks}/{{taskId}}", self.task_status)
            d.add("DELETE", f"{tasks}/{{taskId}}", self.cancel_task)
        dumps = {"imports": f"{M}/imports/{{importId}}/tasks/{{taskId}}/dump",
                 "processes": f"{M}/processes/{{processId}}/tasks/{{taskId}}/dumps/{{objectId}}"}
        for dump in dumps.values():
            d.add("GET", dump, self.dump)
            d.add("GET", f"{dump}/chunks", self.dump_chunks)
            d.add("GET", f"{dump}/chunks/{{chunkId}}", self.dump_chunk)
        d.add("GET", f"{M}/lists", self.lists)
        d.add("GET", f"{M}/lists/{{listId}}/items", self.list_items)
        d.add("GET", f"{M}/modules", self.modules)
        d.add("GET", f"{M}/views/{{viewId}}/data", self.view_data)

    # -- auth service ----------------------------------------------------------------------

    @staticmethod
    def _validation_url(call: Call) -> str:
        return f"{call.origin}/auth/token/validate"

    def authenticate(self, call: Call) -> Reply:
        token = self.auth.authenticate(call.headers.get("authorization"), call.body)
        return Reply(201, self.auth.login_body(token, "Login successful",
                                               self._validation_url(call)))

    def refresh(self, call: Call) -> Reply:
        token = self.auth.refresh(call.headers.get("authorization"))
        return Reply(201, self.auth.login_body(token, "Token refreshed",
                                               self._validation_url(call)))

    def validate(self, call: Call) -> dict:
        token = self.auth.token_from(call.headers.get("authorization"))
        return self.auth.validate_body(token, self._validation_url(call))

    def logout(self, call: Call) -> Reply:
        self.auth.logout(call.headers.get("authorization"))
        return Reply(204)

    def device_code(self, call: Call) -> dict:
        return self.auth.device_code(form(call), f"{call.origin}/auth/activate")

    def oauth_token(self, call: Call) -> dict:
        return self.auth.oauth_token(form(call))

    # -- tenant ----------------------------------------------------------------------------

    def _user(self, call: Call) -> User:
        if call.user is None:
            call.user = self.auth.user_for(call.headers.get("authorization"))
        return call.user

    def me(self, call: Call) -> dict:
        user = self._user(call)
        return envelope({"user": {
            "id": user.guid, "active": True, "email": user.email, "emailOptIn": False,
            "firstName": user.first_name, "lastName": user.last_name,
            "customerId": self.emu.config.customer_guid}}, "user")

    def _visible(self, user: User, workspace_id: str | None = None) -> list[ModelState]:
        return [m for m in self.emu.models.values() if user.sees(m.id)
                and workspace_id in (None, m.workspace.id)]

    def _sees_workspace(self, user: User, workspace_id: str) -> bool:
        """Users limited to some models see only the workspaces holding one of them."""
        return workspace_id in self.emu.workspaces and (
            user.models is None or bool(self._visible(user, workspace_id)))

    def workspaces(self, call: Call) -> dict:
        user = self._user(call)
        rows = [self._workspace_row(ws_id) for ws_id in self.emu.workspaces
                if self._sees_workspace(user, ws_id)]
        return listing(call, "workspaces", rows, "workspace")

    def workspace(self, call: Call) -> dict:
        ws_id = call.params["workspaceId"]
        if not self._sees_workspace(self._user(call), ws_id):
            raise errors.not_found()
        return envelope({"workspace": self._workspace_row(ws_id)}, "workspace")

    def _workspace_row(self, ws_id: str) -> dict:
        spec = self.emu.workspaces[ws_id]
        return {"id": spec.id, "name": spec.name, "active": True,
                "sizeAllowance": 10 * 1024 ** 3, "currentSize": 64 * 1024 ** 2 * len(spec.models)}

    def models(self, call: Call) -> dict:
        user = self._user(call)
        ws_id = call.params.get("workspaceId")
        if ws_id is not None and not self._sees_workspace(user, ws_id):
            raise errors.not_found()
        rows = [self._model_row(m) for m in self._visible(user, ws_id)]
        return listing(call, "models", rows, "model")

    def model_details(self, call: Call) -> dict:
        model = self._model(call, lock=True, contents=False)
        return envelope({"model": self._model_row(model)}, "model")

    @staticmethod
    def _model_row(model: ModelState) -> dict:
        return {"id": model.id, "activeState": model.active_state, "name": model.spec.name,
                "currentWorkspaceId": model.workspace.id,
                "currentWorkspaceName": model.workspace.name,
                "modelUrl": f"https://us1a.app.anaplan.com/core?selectedWorkspaceId="
                            f"{model.workspace.id}&selectedModelId={model.id}",
                "categoryValues": []}

    def _model(self, call: Call, lock: bool = False, contents: bool = True) -> ModelState:
        """The model a path names, as the caller may see it, its tasks settled to now: 404 for
        unknown ids (compared case-sensitively) and models the user cannot access, 422 for an
        archived model's ``contents``, 423 when ``lock`` and a task holds the model."""
        user = self._user(call)
        model = self.emu.models.get(call.params["modelId"])
        ws_id = call.params.get("workspaceId")
        if (model is None or not user.sees(model.id)
                or (ws_id is not None and model.workspace.id != ws_id)):
            raise errors.not_found()
        if contents and model.active_state == "ARCHIVED":
            raise errors.ApiError(422, "Unprocessable Entity: the model is archived")
        model.tasks.settle(call.now)
        if lock and model.tasks.active is not None:
            raise errors.ApiError(423, "Locked: an action is running on the model")
        return model

    # -- files -----------------------------------------------------------------------------

    def _who(self, call: Call) -> str:
        return self._user(call).email

    def files(self, call: Call) -> dict:
        model = self._model(call)
        return listing(call, "files", model.files.rows(self._who(call), call.now), "file")

    def begin_upload(self, call: Call) -> dict:
        model = self._model(call)
        who = self._who(call)
        data_file = model.files.begin(call.params["fileId"], who,
                                      call.json().get("chunkCount"), call.now)
        return envelope({"file": model.files.row(data_file, who, call.now)}, "file")

    def put_chunk(self, call: Call) -> Reply:
        self._model(call).files.put_chunk(
            call.params["fileId"], self._who(call), call.params["chunkId"], call.body,
            call.headers.get("content-type", OCTETS), call.now)
        return Reply(204)

    def complete_upload(self, call: Call) -> dict:
        model = self._model(call)
        who = self._who(call)
        data_file = model.files.complete(call.params["fileId"], who, call.now)
        return envelope({"file": model.files.row(data_file, who, call.now)}, "file")

    def put_file(self, call: Call) -> Reply:
        self._model(call).files.put_whole(
            call.params["fileId"], self._who(call), call.body,
            call.headers.get("content-type", OCTETS), call.now)
        return Reply(204)

    def _file_chunks(self, call: Call) -> list[bytes]:
        model = self._model(call)
        model.files.get(call.params["fileId"])
        content = model.files.content(call.params["fileId"], self._who(call), call.now)
        return content.chunks if content else []

    def file_whole(self, call: Call) -> Reply:
        """``GET /files/{id}``: the whole file (an export's output, or the user's upload)."""
        chunks = self._file_chunks(call)
        if not chunks:
            raise errors.not_found()
        return Reply(body=b"".join(chunks), media_type=OCTETS)

    def file_chunks(self, call: Call) -> dict:
        return listing(call, "chunks", chunk_rows(self._file_chunks(call)), "chunk")

    def file_chunk(self, call: Call) -> Reply:
        return pick_chunk(self._file_chunks(call), call.params["chunkId"])

    # -- actions ---------------------------------------------------------------------------

    def imports(self, call: Call) -> dict:
        rows = [{"id": i.id, "name": i.name, "importDataSourceId": i.source,
                 "importType": i.type} for i in self._model(call).imports.values()]
        return listing(call, "imports", rows, "import")

    def import_metadata(self, call: Call) -> dict:
        spec = self._import(self._model(call), call.params["importId"])
        source = {"textEncoding": spec.encoding, "columnSeparator": spec.column_separator,
                  "textDelimiter": spec.text_delimiter, "headerRow": spec.header_row,
                  "firstDataRow": spec.first_data_row,
                  "decimalSeparator": spec.decimal_separator,
                  "headerNames": spec.header_names, "columnCount": len(spec.header_names)}
        return envelope({"importMetadata": {"name": spec.name, "type": "FILE",
                                            "source": source}}, "importMetadata")

    def exports(self, call: Call) -> dict:
        rows = [{"id": e.id, "name": e.name, "exportType": "TABULAR_MULTI_COLUMN",
                 "exportFormat": "text/csv", "encoding": "UTF-8",
                 "layout": "TABULAR_MULTI_COLUMN"}
                for e in self._model(call).exports.values()]
        return listing(call, "exports", rows, "export")

    def export_metadata(self, call: Call) -> dict:
        model = self._model(call)
        export = model.exports.get(call.params["exportId"])
        if export is None:
            raise errors.not_found()
        source = model.exported(export)
        columns = source.export_columns(export.headers)
        rows = len(source.items) if isinstance(source, ListState) else len(source.cells)
        return envelope({"exportMetadata": {
            "columnCount": len(columns), "dataTypes": [t for _, t, _ in columns],
            "delimiter": '"', "encoding": "UTF-8", "exportFormat": "text/csv",
            "headerNames": [h for h, _, _ in columns], "listNames": [n for _, _, n in columns],
            "rowCount": rows, "separator": ","}}, "exportMetadata")

    def processes(self, call: Call) -> dict:
        rows = [{"id": p.id, "name": p.name} for p in self._model(call).processes.values()]
        return listing(call, "processes", rows, "process")

    def process_metadata(self, call: Call) -> dict:
        model = self._model(call)
        process = model.processes.get(call.params["processId"])
        if process is None:
            raise errors.not_found()
        actions = [{"id": a, "name": model.imports[a].name, "actionType": "IMPORT"}
                   for a in process.actions]
        return envelope({"processMetadata": {"name": process.name, "actions": actions}},
                        "processMetadata")

    @staticmethod
    def _import(model: ModelState, import_id: str) -> ImportSpec:
        spec = model.imports.get(import_id)
        if spec is None:
            raise errors.not_found()
        return spec

    @staticmethod
    def _action(call: Call) -> tuple[str, str]:
        """(kind, action id) of a task path."""
        kind = next(k for k, key in ACTIONS.items() if key in call.params)
        return kind, call.params[ACTIONS[kind]]

    def _steps(self, model: ModelState, kind: str, action_id: str) -> list[ImportSpec]:
        """The imports a task of this action runs (none for an export, which must exist)."""
        if kind == "imports":
            return [self._import(model, action_id)]
        if kind == "exports":
            if action_id not in model.exports:
                raise errors.not_found()
            return []
        process = model.processes.get(action_id)
        if process is None:
            raise errors.not_found()
        return [model.imports[a] for a in process.actions]

    def tasks(self, call: Call) -> dict:
        model = self._model(call)
        kind, action_id = self._action(call)
        self._steps(model, kind, action_id)
        rows = [{"taskId": t.id, "taskState": t.state, "creationTime": int(t.created * 1000)}
                for t in model.tasks.listing(kind, action_id)]
        return listing(call, "tasks", rows, "task")

    def start_task(self, call: Call) -> dict:
        model = self._model(call)
        kind, action_id = self._action(call)
        specs = self._steps(model, kind, action_id)
        user = self._user(call)
        if not user.admin:
            raise errors.ApiError(403, "Forbidden: the user may not run this action")
        params = self._mapping(model, specs, call.json().get("mappingParameters") or [])
        task = model.tasks.create(kind, action_id, user.email, specs, params, call.now)
        return envelope({"task": {"taskId": task.id, "taskState": task.state,
                                  "creationTime": int(task.created * 1000)}}, "task")

    @staticmethod
    def _mapping(model: ModelState, specs: list[ImportSpec], given: object) -> dict[str, str]:
        """Mapping parameters by the dimension they fix; each one the imports ask for must
        be given, naming a member of that dimension."""
        asked = {k: v for spec in specs for k, v in spec.parameters.items()}
        if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
            raise errors.bad_request("mappingParameters must be a list of objects")
        chosen = {str(p.get("entityType")): str(p.get("entityName")) for p in given}
        unknown = set(chosen) - set(asked)
        if unknown:
            raise errors.bad_request(f"Unknown mapping parameter {sorted(unknown)[0]}")
        params = {}
        for entity, dimension in asked.items():
            member = model.member(dimension, chosen[entity]) if entity in chosen else None
            if member is None:
                raise errors.bad_request(
                    f"Mapping parameter {entity} must name a member of {dimension}")
            params[dimension] = member
        return params

    def _task(self, call: Call) -> tuple[ModelState, Task]:
        model = self._model(call)
        kind, action_id = self._action(call)
        return model, model.tasks.find(kind, action_id, call.params["taskId"])

    def task_status(self, call: Call) -> dict:
        _, task = self._task(call)
        self.emu.stats_book.poll(task.id, call.now)
        return envelope({"task": task.body(call.now)}, "task")

    def cancel_task(self, call: Call) -> dict:
        model, task = self._task(call)
        return envelope({"task": model.tasks.cancel(task, call.now).body(call.now)}, "task")

    def _dump_chunks(self, call: Call) -> list[bytes]:
        model, task = self._task(call)
        object_id = call.params.get("objectId", task.action_id)
        dump = model.tasks.dump(task, object_id, call.now)
        return chunked(dump, self.emu.config.dump_chunk_bytes)

    def dump(self, call: Call) -> Reply:
        return Reply(body=b"".join(self._dump_chunks(call)), media_type=OCTETS)

    def dump_chunks(self, call: Call) -> dict:
        return listing(call, "chunks", chunk_rows(self._dump_chunks(call)), "chunk")

    def dump_chunk(self, call: Call) -> Reply:
        return pick_chunk(self._dump_chunks(call), call.params["chunkId"])

    # -- model contents (not actions: refused while the model is locked) -------------------

    def lists(self, call: Call) -> dict:
        model = self._model(call, lock=True)
        rows = [{"id": x.id, "name": x.name} for x in model.spec.lists]
        return listing(call, "lists", rows, "list")

    def list_items(self, call: Call) -> dict:
        model = self._model(call, lock=True)
        found = next((x for x in model.spec.lists if x.id == call.params["listId"]), None)
        if found is None:
            raise errors.not_found()
        full = call.query.get("includeAll", "false").lower() == "true"
        shape = self.emu.config.list_items
        state = model.lists[found.name]
        parents = model.lists[found.parent] if found.parent else None
        brief = ("id", "name", "code") if shape.codes_without_include_all else ("id", "name")
        rows = []
        for item in state.items.values():
            row = item.row()
            if not full:
                rows.append({k: row[k] for k in brief})
                continue
            parent = parents.items.get(item.parent) if parents and item.parent else None
            if parent is not None:
                for name, value in ((shape.parent_name_field, parent.name),
                                    (shape.parent_id_field, parent.id),
                                    (shape.parent_code_field, parent.code)):
                    if name:
                        row[name] = value
            rows.append(row)
        return listing(call, "listItems", rows, "listItem")

    def modules(self, call: Call) -> dict:
        model = self._model(call, lock=True)
        rows = [{"id": m.id, "name": m.name} for m in model.spec.modules]
        return listing(call, "modules", rows, "module")

    def view_data(self, call: Call) -> Reply:
        """A module's default view (view id = module id) as flat CSV: one column per
        dimension, then one per line item; one row per cell with data."""
        model = self._model(call, lock=True)
        module = next((m for m in model.modules.values()
                       if m.spec.id == call.params["viewId"]), None)
        if module is None:
            raise errors.not_found()
        return Reply(body=module.to_csv(), media_type="text/csv")
