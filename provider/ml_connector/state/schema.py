"""Tables of the state store (created on first use)."""

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


def organization(*, key: bool = False) -> Column:
    """The organization of a flow's row (0011): '' is the flow's only organization. A table
    keyed on it sets ``implicit_returning=False``: the code always writes it, and an insert
    need not read the key back."""
    return Column("organization", String(64), primary_key=key, nullable=False,
                  server_default="")


token_cache = Table(
    "mlc_token_cache",
    metadata,
    Column("cache_key", String(64), primary_key=True),
    Column("ciphertext", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

locks = Table(
    "mlc_locks",
    metadata,
    Column("lock_key", String(128), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("lease_until", Float, nullable=False),
    Column("owner", String(255)),  # host, process and purpose of the holder (0002)
)

watermarks = Table(
    "mlc_watermarks",
    metadata,
    Column("flow", String(200), primary_key=True),
    organization(key=True),
    Column("value", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
    implicit_returning=False,
)

cells = Table(
    "mlc_cells",
    metadata,
    Column("flow", String(100), primary_key=True),
    organization(key=True),
    Column("window_start", String(40), primary_key=True),
    Column("cell_key", String(500), primary_key=True),
    Column("recorded_at", Float, nullable=False),
    Column("amounts", Text),  # JSON list of the cell's amounts as text (0008); NULL before
    implicit_returning=False,
)

audit = Table(
    "mlc_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(100), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("window_start", String(40)),
    Column("window_end", String(40)),
    Column("import_id", String(20)),
    Column("task_id", String(40)),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("recorded_at", Float, nullable=False),
    organization(),
    Index("ix_mlc_audit_flow_status", "flow", "organization", "status"),
    Index("ix_mlc_audit_flow_run", "flow", "run_id", "organization"),
    Index("ix_mlc_audit_record", "record_id"),
)

verifications = Table(
    "mlc_verifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(100), nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("window_start", String(40), nullable=False),
    Column("export_id", String(20), nullable=False),
    Column("cells", Integer, nullable=False),
    Column("differences", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # verified | differs
    Column("detail", Text),
    Column("checked_at", Float, nullable=False),
    organization(),
    Index("ix_mlc_verifications_flow", "flow", "window_start"),
)

zoho_details = Table(
    "mlc_zoho_details",
    metadata,
    Column("org_key", String(64), primary_key=True),
    Column("entity", String(40), primary_key=True),
    Column("record_id", String(64), primary_key=True),
    Column("modified", String(40), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("fetched_at", Float, nullable=False),
    Index("ix_mlc_zoho_details_fetched", "fetched_at"),
)

zoho_lists = Table(
    "mlc_zoho_lists",
    metadata,
    Column("org_key", String(64), primary_key=True),
    Column("list_key", String(200), primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("count", Integer, nullable=False),
    Column("fetched_at", Float, nullable=False),
)

zoho_quota = Table(
    "mlc_zoho_quota",
    metadata,
    Column("org_key", String(64), primary_key=True),
    Column("daily_limit", Integer),
    Column("remaining", Integer),
    Column("resets_at", Float),
    Column("used", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

webhook_events = Table(
    "mlc_webhook_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("organization_id", String(32), nullable=False),
    Column("entity", String(40), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("digest", String(64), nullable=False),  # sha256 of the signature header
    Column("received_at", Float, nullable=False),
    UniqueConstraint("organization_id", "event_id", name="uq_mlc_webhook_events_event"),
    UniqueConstraint("digest", name="uq_mlc_webhook_events_digest"),
    Index("ix_mlc_webhook_events_org_entity", "organization_id", "entity", "seq"),
)

event_cursors = Table(
    "mlc_event_cursors",
    metadata,
    Column("watcher", String(200), primary_key=True),
    Column("position", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)

reads = Table(
    "mlc_reads",
    metadata,
    Column("dag_id", String(250), primary_key=True),
    Column("run_id", String(250), primary_key=True),
    Column("task_id", String(250), primary_key=True),
    Column("entity", String(100), nullable=False),
    Column("records", Integer, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("cache_hits", Integer, nullable=False),
    Column("read_at", Float, nullable=False),
)

list_loads = Table(
    "mlc_list_loads",
    metadata,
    Column("flow", String(200), primary_key=True),  # a list flow
    Column("read_at", Float, nullable=False),  # when the read it loaded began (epoch seconds)
    Column("run_id", String(250), nullable=True),
    Column("loaded_at", Float, nullable=False),  # when Anaplan had taken it
)

request_slots = Table(
    "mlc_request_slots",
    metadata,
    Column("name", String(200), primary_key=True),  # the budget, e.g. zoho-us-<organization>
    Column("slot", Integer, primary_key=True),  # 0 .. limit-1; a held row is a request in flight
)

alignments = Table(
    "mlc_alignments",
    metadata,
    Column("flow", String(100), primary_key=True),
    Column("month", String(7), primary_key=True),  # yyyy-mm
    Column("version", String(100), primary_key=True),  # the plan version, e.g. Budget
    Column("run_id", String(250), nullable=False),  # the flow run, or "cli"
    Column("export_id", String(20), nullable=False),
    Column("ok", Boolean, nullable=False),  # no row breaches a threshold
    Column("rows", Integer, nullable=False),
    Column("unplanned", Integer, nullable=False),
    Column("unactual", Integer, nullable=False),
    Column("breaches", Integer, nullable=False),
    Column("actual", String(40), nullable=False),  # totals, as text
    Column("plan", String(40), nullable=False),
    Column("anaplan_requests", Integer, nullable=False),
    Column("report", Text, nullable=False),  # the Alignment as JSON (rows and routed values)
    Column("aligned_at", Float, nullable=False),
)

anaplan_requests = Table(
    "mlc_anaplan_requests",
    metadata,
    Column("dag_id", String(250), primary_key=True),
    Column("run_id", String(250), primary_key=True),
    Column("task_id", String(250), primary_key=True),
    Column("requests", Integer, nullable=False),  # summed over the task's tries and parts
    Column("recorded_at", Float, nullable=False),
)

deletes = Table(
    "mlc_deletes",
    metadata,
    Column("organization_id", String(32), primary_key=True),
    Column("entity", String(40), primary_key=True),
    Column("record_id", String(64), primary_key=True),
    Column("source", String(16), nullable=False),  # webhook | sweep | run
    Column("found_at", Float, nullable=False),
)

sent_lines = Table(
    "mlc_sent_lines",
    metadata,
    Column("flow", String(100), primary_key=True),
    organization(key=True),
    Column("record_id", String(64), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("month", String(7), nullable=False),
    Column("line_keys", Text, nullable=False),  # JSON: the rows sent, amounts included
    Column("sent_at", Float, nullable=False),
    Index("ix_mlc_sent_lines_month", "flow", "month"),
    implicit_returning=False,
)

unit_outcomes = Table(
    "mlc_unit_outcomes",
    metadata,
    Column("dag_id", String(250), primary_key=True),
    Column("run_id", String(250), primary_key=True),
    Column("organization", String(64), primary_key=True),  # the entity key
    Column("state", String(16), nullable=False),  # skipped | failed
    Column("detail", Text, nullable=False),  # the step and why
    Column("recorded_at", Float, nullable=False),
)
