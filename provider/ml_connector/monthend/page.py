"""The Month-end page as HTML: the month picker, a row per flow (and, under a flow of several
organizations, a row per organization), then each alignment's report and chart. Every value
is escaped; links to Airflow leave the iframe (``_top``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from urllib.parse import quote

from ml_connector.flows.align import Row
from ml_connector.monthend.chart import bar_chart
from ml_connector.monthend.view import AlignmentReport, EntityRow, FlowRow, LastRun, MonthView
from ml_connector.window import month_name

STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#111827;font-size:14px}
table{border-collapse:collapse;margin:8px 0 20px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.failed,.differs,.breach{color:#b91c1c;font-weight:600}.imported,.verified{color:#15803d}
.none{color:#6b7280}.reasons{color:#4b5563;font-size:12px;margin:0;padding-left:16px}
.nowrap{white-space:nowrap}.task{font-family:monospace;font-size:12px}
.run{overflow-wrap:anywhere;min-width:12em}
tr.notes td{border-bottom:1px solid #e5e7eb;padding-top:0}tr.has-notes td{border-bottom:0}
form{margin:8px 0 16px}section{margin-top:28px}
.side{display:flex;gap:32px;align-items:flex-start;flex-wrap:wrap}summary{cursor:pointer}
tr.entity td{background:#f9fafb}td.entity{padding-left:24px}
"""


@dataclass(frozen=True)
class AirflowRun:
    """What Airflow's metadata holds about a flow run: its state and the import task's
    ``model_page`` (the Anaplan model's page)."""

    state: str | None = None
    model_page: str | None = None


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def run_href(base: str | None, dag_id: str, run_id: str) -> str:
    """The Airflow UI's page of a DAG run, under the UI's ``base`` path ("" with no UI: a
    page written to a file)."""
    if base is None:
        return ""
    return f"{base.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _link(href: str, text: str, *, top: bool = True) -> str:
    if not href:
        return _e(text)
    target = ' target="_top"' if top else ' target="_blank" rel="noopener noreferrer"'
    return f'<a href="{_e(href)}"{target}>{_e(text)}</a>'


def month_picker(view: MonthView) -> str:
    months = view.months if view.month in view.months else [view.month, *view.months]
    options = "".join(f'<option value="{_e(m)}"{" selected" if m == view.month else ""}>'
                      f"{_e(month_name(m))}</option>" for m in months)
    return (f'<form method="get"><label for="month">Month</label> '
            f'<select id="month" name="month">{options}</select> '
            f'<button type="submit">Show</button></form>')


def _notes(attrs: str, items: Iterable[str]) -> str:
    """The row of notes under a row (nothing when there are none)."""
    shown = "".join(items)
    return (f'<tr class="notes" {attrs}><td></td><td colspan="12">'
            f'<ul class="reasons">{shown}</ul></td></tr>' if shown else "")


def _figures(run: LastRun) -> str:
    """A run's cells from when it recorded the month through its verification."""
    check = run.verification
    verified = "-" if check is None else (
        f'<span class="{_e(check.status)}">{_e(check.status)}</span> '
        f"({check.differences:,} of {check.cells:,} cells)"
        + (f'<br><span class="reasons">{_e(check.detail)}</span>' if check.detail else ""))
    return (f'<td class="nowrap">{run.recorded_at:%Y-%m-%d %H:%M}</td>'
            f'<td class="n">{_n(run.records)}</td><td class="n">{_n(run.imported)}</td>'
            f'<td class="n">{_n(run.skipped)}</td><td class="n">{_n(run.failed)}</td>'
            f'<td class="n">{_n(run.requests)}</td><td class="n">{_n(run.anaplan_requests)}</td>'
            f'<td class="task" title="{_e(", ".join(run.tasks))}">'
            f'{_e(", ".join(t[:8] + "…" for t in run.tasks) or "-")}</td><td>{verified}</td>')


def _reasons(run: LastRun) -> list[str]:
    return [f"<li>{n:,} x {_e(r)}</li>" for r, n in run.reasons]


def _flow_row(row: FlowRow, base: str | None, airflow: Mapping[tuple[str, str], AirflowRun]) -> str:
    run = row.run
    name = f'<td title="{_e(row.description)}">{_e(row.flow)}</td>'
    entities = "".join(_entity_row(row, e, base) for e in row.entities)
    if run is None:
        return (f'<tr class="flow" data-flow="{_e(row.flow)}">{name}'
                f'<td class="none" colspan="12">no run</td></tr>{entities}')
    known = airflow.get((row.dag_id, run.run_id), AirflowRun())
    notes = _notes(f'data-flow="{_e(row.flow)}"', _reasons(run))
    page = known.model_page or ""
    model = _link(page, "model", top=False) if page.startswith("https://") else "-"
    state = f" ({_e(known.state)})" if known.state else ""
    return (f'<tr class="flow{" has-notes" if notes else ""}" data-flow="{_e(row.flow)}">'
            f'{name}<td class="run">'
            f"{_link(run_href(base, row.dag_id, run.run_id), run.run_id)}{state}</td>"
            f'<td class="{run.outcome}">{run.outcome}</td>{_figures(run)}'
            f"<td>{model}</td></tr>{notes}{entities}")


def _entity_row(row: FlowRow, entity: EntityRow, base: str | None) -> str:
    """An organization's row under its flow's: its newest run of the month (linked when it
    is not the flow's last run) and, under it, why the last run left it out."""
    run = entity.run
    attrs = f'data-flow="{_e(row.flow)}" data-entity="{_e(entity.entity)}"'
    why = [] if entity.left_out is None else [
        f'<li class="{"failed" if entity.failed else "none"}">'
        f'{"left out of" if entity.failed else "not read by"} the last run: '
        f"{_e(entity.left_out)}</li>"]
    notes = _notes(attrs, (_reasons(run) if run is not None else []) + why)
    outcome = entity.outcome
    own = run is not None and (row.run is None or run.run_id != row.run.run_id)
    shown = _link(run_href(base, row.dag_id, run.run_id), run.run_id) if own and run else ""
    figures = _figures(run) if run is not None else (
        '<td class="none" colspan="9">no run</td>')
    return (f'<tr class="entity{" has-notes" if notes else ""}" {attrs}>'
            f'<td class="entity">{_e(entity.entity)}</td><td class="run">{shown}</td>'
            f'<td class="{"failed" if entity.failed else outcome or "none"}">'
            f"{_e(outcome or '-')}</td>{figures}<td></td></tr>{notes}")


FLOW_HEAD = ("<tr><th>Flow</th><th>Last run</th><th>Outcome</th><th>When (UTC)</th>"
             '<th class="n">Records</th><th class="n">Imported</th><th class="n">Skipped</th>'
             '<th class="n">Failed</th><th class="n">Zoho requests</th>'
             '<th class="n">Anaplan requests</th><th>Anaplan task</th>'
             "<th>Verification</th><th>Anaplan</th></tr>")


def flow_table(title: str, rows: Iterable[FlowRow], base: str | None,
               airflow: Mapping[tuple[str, str], AirflowRun]) -> str:
    body = "".join(_flow_row(r, base, airflow) for r in rows)
    if not body:
        return ""
    return (f"<h2>{_e(title)}</h2><table class=\"flows\"><thead>{FLOW_HEAD}</thead>"
            f"<tbody>{body}</tbody></table>")


def _report_row(report: AlignmentReport, row: Row) -> str:
    percent = "-" if row.percent is None else f"{row.percent:,.2f}%"
    breach = f' <span class="breach">fails {_e(row.breach)}</span>' if row.breach else ""
    return ("<tr>" + "".join(f'<td title="{_e(k)}">{_e(report.shown(c, k))}</td>'
                             for c, k in zip(report.columns, row.key, strict=True))
            + f'<td class="n">{_money(row.actual)}</td><td class="n">{_money(row.plan)}</td>'
            f'<td class="n">{_money(row.difference)}</td><td class="n">{percent}</td>'
            f"<td>{_e(row.kind)}{breach}</td></tr>")


def alignment_section(report: AlignmentReport, n: int, base: str | None) -> str:
    version = report.version
    counts = ", ".join(f"{c:,} {k}" for k, c in report.counts.items())
    head = ("<tr>" + "".join(f"<th>{_e(c)}</th>" for c in report.columns)
            + f'<th class="n">Actual</th><th class="n">{_e(version)}</th>'
            '<th class="n">Difference</th><th class="n">Percent</th><th>Kind</th></tr>')
    rows = "".join(_report_row(report, r) for r in report.rows)
    total = (f'<tr><th colspan="{len(report.columns)}">Total</th>'
             f'<th class="n">{_money(report.actual)}</th><th class="n">'
             f'{_money(report.plan)}</th><th class="n">{_money(report.actual - report.plan)}'
             "</th><th></th><th></th></tr>")
    routed = "".join(f"<li>{_e(r.describe())}</li>" for r in report.routed)
    status = ('<span class="imported">within thresholds</span>' if report.ok else
              f'<span class="breach">{len(report.breaches):,} row(s) breach a threshold</span>')
    member = report.columns[-1] if report.columns else "member"
    chart = bar_chart(report.member_totals, member_label=member, plan_label=version,
                      title=f"{report.flow}: actual vs {version} per {member}",
                      chart_id=f"chart-{n}")
    totals = "".join(f'<tr><td title="{_e(t.member)}">{_e(t.name or t.member)}</td>'
                     f'<td class="n">{_money(t.actual)}</td>'
                     f'<td class="n">{_money(t.plan)}</td></tr>' for t in report.member_totals)
    run = (_link(run_href(base, report.dag_id, report.run_id), report.run_id)
           if report.run_id != "cli" else "the ml-connector command")
    return (f'<section class="alignment" data-flow="{_e(report.flow)}" '
            f'data-version="{_e(version)}"><h2>{_e(report.flow)}: actual vs {_e(version)}</h2>'
            f"<p>{len(report.rows):,} row(s): {_e(counts)}; {status}. Aligned "
            f"{report.aligned_at:%Y-%m-%d %H:%M} UTC by {run}.</p>"
            f'{f"<p>Routed values:</p><ul>{routed}</ul>" if routed else ""}'
            f'<div class="side">{chart}'
            f'<table class="members"><thead><tr><th>{_e(member)}</th><th class="n">Actual</th>'
            f'<th class="n">{_e(version)}</th></tr></thead><tbody>{totals}</tbody></table></div>'
            f"<details><summary>The {len(report.rows):,} row(s)</summary>"
            f'<table class="report"><thead>{head}</thead><tbody>{rows}{total}</tbody></table>'
            "</details></section>")


def render(view: MonthView, *, base: str | None = "",
           airflow: Mapping[tuple[str, str], AirflowRun] | None = None) -> str:
    """The whole page for ``view``; ``base``: the Airflow UI's path (links to runs; None:
    no links, for a page written to a file);
    ``airflow``: (dag id, run id) -> what Airflow holds about the run."""
    known = airflow or {}
    title = f"Month-end: {month_name(view.month)}"
    ran = [f for f in view.flows if f.run is not None]
    summary = (f"{len(view.flows):,} flow(s); {len(ran):,} ran for the month, "
               + ", ".join(f"{sum(1 for f in ran if f.run and f.run.outcome == o):,} {o}"
                           for o in ("imported", "failed", "differs", "skipped"))
               + f"; {len(view.alignments):,} alignment report(s).")
    if not view.flows:
        summary = "You may not see any flow's DAG: ask an Airflow admin for read access."
    sections = "".join(alignment_section(r, n, base) for n, r in enumerate(view.alignments))
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{_e(title)}</h1>{month_picker(view)}<p class=\"summary\">{_e(summary)}</p>"
            f"{flow_table('Actuals', view.actuals, base, known)}"
            f"{flow_table('Lists', view.lists, base, known)}"
            f"{sections}</body></html>")
