"""AnaplanImportOperator: upload a staged file to an import's data source and run the import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, ObjectStoragePath
from airflow.sdk import XComArg
from pydantic import BaseModel

from ml_connector.anaplan.handoff import Handoff, send_file
from ml_connector.errors import ConnectorError
from ml_connector.hooks.anaplan import AnaplanHook
from ml_connector.hooks.state import DEFAULT_STATE_CONN_ID, state_store, state_url
from ml_connector.operators.failures import fail_fast
from ml_connector.operators.lineage import anaplan_dataset, file_dataset, operator_lineage
from ml_connector.sensors.anaplan import AnaplanTaskMixin, default_deferrable


class AnaplanTaskLink(BaseOperatorLink):
    """The model the import ran in, in Anaplan's web UI (pushed by the operator as
    ``model_page``); the task's API resource, which a browser cannot open, is ``task_url``."""

    name = "Anaplan model"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        from airflow.providers.common.compat.sdk import XCom

        return XCom.get_value(key="model_page", ti_key=ti_key) or ""


class StagedFile(BaseModel):
    """Any manifest that names a staged file as ``path``."""

    path: str


def staged_source(source: object) -> str:
    """The file ``source`` names: a path or URL, or a manifest with ``path``."""
    return source if isinstance(source, str) else StagedFile.model_validate(source).path


class AnaplanImportOperator(AnaplanTaskMixin, BaseOperator):
    """Check the file's header against the ``headerNames`` of the import (or of every import
    of a process), upload it in gzip chunks to the data source file, start the task and push
    ``task_id`` and ``task_url``.

    Runs that feed the same data source file are serialized from upload until Anaplan has
    started the task (and so read the file), through a lock in the state store: parallel
    backfill runs of a flow, or two flows sharing an import, cannot swap files.

    :param import_id: the import's (``112…``) or process's (``118…``) id, or exact name.
    :param source: the staged CSV (an ``ObjectStoragePath`` URL or local path, templated), or
        a manifest (XCom) naming it as ``path``, such as a flow's build step returns.
    :param wait_for_completion: also wait for the task: deferred to the triggerer when
        ``deferrable`` (default ``[operators] default_deferrable``), else polling here.
    :param mapping_parameters: e.g. ``[{"entityType": "Version", "entityName": "Actual"}]``.
    :param start_timeout: how long a queued task (busy model) may take to start; it is then
        cancelled and the task fails (and retries).
    :param lock_wait: how long to wait for another run that holds the data source file.
    :param cancel_on_kill: cancel the Anaplan task when the Airflow task is killed while it
        waits for the task to start or to finish (a user marks it failed or success, or
        clears it; ``execution_timeout``), in the worker or, deferred, in the triggerer.
    """

    template_fields: Sequence[str] = ("import_id", "source", "workspace_id", "model_id")
    operator_extra_links = (AnaplanTaskLink(),)
    ui_color = "#fde8d7"

    def __init__(
        self,
        *,
        import_id: str,
        source: str | Mapping[str, Any] | XComArg,
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
        start_timeout: timedelta = timedelta(minutes=30),
        lock_wait: timedelta = timedelta(hours=1),
        state_conn_id: str = DEFAULT_STATE_CONN_ID,
        cancel_on_kill: bool = True,
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
        self.start_timeout = start_timeout
        self.lock_wait = lock_wait
        self.state_conn_id = state_conn_id
        self.cancel_on_kill = cancel_on_kill

    def _started(self, action_id: str, task_id: str) -> None:
        """The task exists (it may still be queued): ``on_kill`` would cancel it now."""
        self.running_task = (action_id, task_id)

    @fail_fast()
    def execute(self, context: Any) -> dict[str, Any]:
        client = self.hook.client
        store = state_store(state_url(self.state_conn_id))
        start_timeout = self.start_timeout.total_seconds()
        handoff = send_file(
            client, self.import_id, ObjectStoragePath(staged_source(self.source)),
            locale=self.locale, mapping_parameters=self.mapping_parameters,
            start_timeout=start_timeout, log=self.log.info, on_start=self._started,
            lock=partial(store.lock, wait=self.lock_wait.total_seconds(), poll=1.0,
                         purpose=f"{context['ti'].dag_id}.{context['ti'].task_id} "
                                 f"{context['run_id']}"))
        action_id, task_id = handoff.import_id, handoff.task_id
        ti = context["ti"]
        ti.xcom_push(key="task_id", value=task_id)
        ti.xcom_push(key="task_url", value=client.config.task_url(action_id, task_id))
        try:
            page = client.model_page()
        except ConnectorError as exc:  # the link is a convenience: never fail the import
            self.log.warning("No link to the model's page: %s", exc)
            page = ""
        ti.xcom_push(key="model_page", value=page)
        if not self.wait_for_completion:
            self.release()
            return handoff.model_dump(mode="json")
        timeout = self.wait_timeout.total_seconds()
        if self.deferrable:
            ti.xcom_push(key="handoff", value=handoff.model_dump(mode="json"))
            trigger = self.task_trigger(action_id, task_id, timeout, self.cancel_on_timeout,
                                        self.poll_interval)
            self.release()
            self.defer(trigger=trigger, method_name="execute_complete")
        status = client.wait(action_id, task_id, timeout=timeout)
        event = self.outcome(client, action_id, status)
        self.release()
        handoff.task = self.finish(event)
        return handoff.model_dump(mode="json")

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Input: the staged file; output: the model's import or process (OpenLineage
        provider). Read from the rendered arguments and the connection: no API call."""
        config = self.hook.client.config
        return operator_lineage(
            [file_dataset(staged_source(self.source))],
            [anaplan_dataset(config.workspace_id, config.model_id, str(self.import_id))])

    @fail_fast()
    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        handoff = Handoff.model_validate(context["ti"].xcom_pull(
            task_ids=self.task_id, key="handoff"))
        handoff.task = self.finish(event)
        return handoff.model_dump(mode="json")
