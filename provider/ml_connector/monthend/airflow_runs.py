"""What Airflow's metadata database holds about the flow runs a page shows: each run's
state and its import task's ``model_page`` XCom (the Anaplan model's page, as the task's
"Anaplan model" link shows it). Read in the api-server: nothing is asked of Anaplan."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from ml_connector.monthend.page import AirflowRun

#: The import step's task id in a flow's DAG (``dag_factory``), which pushes ``model_page``.
IMPORT_TASK = "import"


def airflow_runs(keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], AirflowRun]:
    """(dag id, run id) -> the run's state and Anaplan model page, for the runs Airflow
    knows of (a run recorded by ``airflow dags test`` or the CLI may be unknown)."""
    if not keys:
        return {}
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dags, runs = {d for d, _ in keys}, {r for _, r in keys}
    found: dict[tuple[str, str], AirflowRun] = {}
    with create_session() as session:
        states = {(d, r): s for d, r, s in session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state)
            .where(DagRun.dag_id.in_(dags), DagRun.run_id.in_(runs)))}
        pages = {(x.dag_id, x.run_id): XComModel.deserialize_value(x) for x in session.execute(
            select(XComModel.dag_id, XComModel.run_id, XComModel.value)
            .where(XComModel.dag_id.in_(dags), XComModel.run_id.in_(runs),
                   XComModel.task_id == IMPORT_TASK, XComModel.key == "model_page"))}
    for key in keys:
        if key in states or key in pages:
            page = pages.get(key)
            found[key] = AirflowRun(state=None if states.get(key) is None else
                                    str(states[key]),
                                    model_page=page if isinstance(page, str) else None)
    return found
