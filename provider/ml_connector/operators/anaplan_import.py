"""AnaplanImportOperator: upload a staged file to an import's data source and run the import."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, ObjectStoragePath

from ml_connector.anaplan.columns import check_header
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.sensors.anaplan import AnaplanTaskMixin, default_deferrable


class AnaplanTaskLink(BaseOperatorLink):
    """Link to the import task's status resource (pushed by the operator as ``task_url``)."""

    name = "Anaplan task"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import XCom

        return XCom.get_value(key="task_url", ti_key=ti_key) or ""


def read_header(path: ObjectStoragePath, separator: str = ",", quote: str = '"') -> list[str]:
    with path.open("r", encoding="utf-8", newline="") as handle:
        first = handle.readline()
    return next(csv.reader(io.StringIO(first), delimiter=separator, quotechar=quote), [])


class AnaplanImportOperator(AnaplanTaskMixin, BaseOperator):
    """Check the file's header against the import's ``headerNames``, upload it in gzip chunks
    to the import's data source file, start the import and push ``task_id`` and ``task_url``.

    :param import_id: the import's id (``112…``) or exact name.
    :param source: the staged CSV (an ``ObjectStoragePath`` URL or local path, templated).
    :param wait_for_completion: also wait for the task: deferred to the triggerer when
        ``deferrable`` (default ``[operators] default_deferrable``), else polling here.
    :param mapping_parameters: e.g. ``[{"entityType": "Version", "entityName": "Actual"}]``.
    """

    template_fields: Sequence[str] = ("import_id", "source", "workspace_id", "model_id")
    operator_extra_links = (AnaplanTaskLink(),)
    ui_color = "#fde8d7"

    def __init__(
        self,
        *,
        import_id: str,
        source: str,
        anaplan_conn_id: str = AnaplanHook.default_conn_name,
        workspace_id: str | None = None,
        model_id: str | None = None,
        locale: str = "en_US",
        mapping_parameters: list[dict[str, str]] | None = None,
        wait_for_completion: bool = False,
        deferrable: bool | None = None,
        poll_interval: float = 5.0,
        wait_timeout: timedelta = timedelta(hours=2),
        cancel_on_timeout: bool = True,
        allow_rejected_rows: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.import_id = import_id
        self.source = source
        self.anaplan_conn_id = anaplan_conn_id
        self.workspace_id = workspace_id
        self.model_id = model_id
        self.locale = locale
        self.mapping_parameters = mapping_parameters
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self.cancel_on_timeout = cancel_on_timeout
        self.allow_rejected_rows = allow_rejected_rows

    def execute(self, context: Any) -> dict[str, Any]:
        hook = AnaplanHook(self.anaplan_conn_id, self.workspace_id, self.model_id)
        client = hook.client
        found = client.find_import(self.import_id)
        import_id, file_id = found["id"], found.get("importDataSourceId")
        meta = client.import_metadata(import_id)
        source_meta = meta.get("source") or {}
        path = ObjectStoragePath(self.source)
        header = read_header(path, source_meta.get("columnSeparator") or ",",
                             source_meta.get("textDelimiter") or '"')
        check_header(header, list(source_meta.get("headerNames") or []),
                     f"import {found.get('name')!r} ({import_id})")
        self.log.info("Uploading %s to file %s of import %s", path, file_id, found.get("name"))
        with path.open("rb") as stream:
            upload = client.upload(file_id, stream, path.stat().st_size)
        task_id = client.start_import(import_id, self.locale, self.mapping_parameters)
        task_url = client.config.task_url(import_id, task_id)
        ti = context["ti"]
        ti.xcom_push(key="task_id", value=task_id)
        ti.xcom_push(key="task_url", value=task_url)
        self.log.info("Started import task %s (%d chunk(s), %d bytes)", task_id,
                      upload.chunks, upload.bytes)
        result = {"import_id": import_id, "task_id": task_id, "file_id": file_id,
                  "chunks": upload.chunks, "bytes": upload.bytes}
        if not self.wait_for_completion:
            return result
        timeout = self.wait_timeout.total_seconds()
        if self.deferrable:
            self.defer(
                trigger=self.task_trigger(hook, import_id, task_id, timeout,
                                          self.cancel_on_timeout, self.poll_interval),
                method_name="execute_complete",
            )
        status = client.wait(import_id, task_id, timeout=timeout)
        rejected = [r.describe() for r in client.rejected_rows(import_id, task_id, 10)
                    ] if status.failure_dump else []
        task = self.finish({"status": "done", "task": status.as_dict(), "rejected": rejected})
        return {**result, "task": task}

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        task = self.finish(event)
        return {"task_id": task.get("task_id"), "task": task}
