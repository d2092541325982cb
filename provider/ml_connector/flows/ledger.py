"""Ledger flows (``source: ledger``): the postings of the chosen accounts, staged as records.

Each staged record is one posting with its account's code, name and type and an ``amount``
in the base currency signed as the account's balance reads: credit - debit on income,
liability and equity accounts, debit - credit on expense and asset accounts. An account's
postings are read for the whole span of contiguous windows at once (a 12-month backfill of
a quiet account is one request, not twelve) and kept per window by ``transaction_date``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from ml_connector.errors import ConfigError
from ml_connector.flows.spec import Flow, Ledger
from ml_connector.flows.windows import next_month
from ml_connector.state.deletes import DeleteLog
from ml_connector.state.ledger_reads import KeptMonth
from ml_connector.zoho.client import ZohoBooksClient
from ml_connector.zoho.entities import get_entity
from ml_connector.zoho.extract import ExtractManifest, ExtractWindow
from ml_connector.zoho.ledger import Posting, iter_postings, ledger_rows, posting_of
from ml_connector.zoho.report import jsonl_line
from ml_connector.zoho.settle import SETTLE_SECONDS
from ml_connector.zoho.timefmt import format_zoho_time, parse_zoho_time

log = logging.getLogger(__name__)

#: Account types whose balance is debit - credit (the others read credit - debit).
DEBIT_NORMAL = frozenset({"cash", "bank", "accounts_receivable", "stock",
                          "other_current_asset", "fixed_asset", "cost_of_goods_sold",
                          "expense", "other_expense"})

Span = tuple[date, date]  # [start, end)


@dataclass(frozen=True)
class LedgerAccount:
    """An account whose postings a ledger flow reads, and the sign of its amounts."""

    account_id: str
    code: str
    name: str
    type: str

    @property
    def sign(self) -> int:
        """+1 when the account's amount is debit - credit, -1 for credit - debit."""
        return 1 if self.type in DEBIT_NORMAL else -1


def ledger_accounts(ledger: Ledger, chart: Iterable[Mapping[str, Any]],
                    flow_id: str = "") -> list[LedgerAccount]:
    """The chart's accounts a flow's ``ledger`` names (a list of codes or names, else its
    account types), inactive ones included: they may still hold postings."""
    rows = [LedgerAccount(str(r["account_id"]), str(r.get("account_code") or ""),
                          str(r.get("account_name") or ""), str(r.get("account_type") or ""))
            for r in chart]
    where = f"flow {flow_id}: " if flow_id else ""
    if ledger.accounts:
        chosen: list[LedgerAccount] = []
        for wanted in ledger.accounts:
            found = [a for a in rows if wanted in (a.code, a.name)]
            if not found:
                raise ConfigError(
                    f"{where}ledger.accounts: no account with code or name {wanted!r} in "
                    f"the chart of accounts; known: "
                    f"{', '.join(sorted(f'{a.code} {a.name}'.strip() for a in rows))}")
            chosen.extend(a for a in found if a not in chosen)
        return chosen
    chosen = [a for a in rows if a.type in ledger.account_types]
    if not chosen:
        raise ConfigError(f"{where}ledger.account_types {ledger.account_types}: the chart of "
                          "accounts has no account of these types")
    return chosen


def spans(windows: Sequence[ExtractWindow]) -> list[Span]:
    """Contiguous windows merged: ``[Jan, Feb), [Feb, Mar), [May, Jun)`` ->
    ``[Jan, Mar), [May, Jun)``. Every window needs a start and an end."""
    merged: list[list[date]] = []
    for window in sorted(windows, key=lambda w: w.start or date.min):
        if window.start is None or window.end is None:
            raise ConfigError("a ledger read needs date windows (start and end)")
        if merged and window.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], window.end)
        else:
            merged.append([window.start, window.end])
    return [(start, end) for start, end in merged]


@dataclass(frozen=True)
class Reuse:
    """When a month another ledger run kept (``KeptLedger``) may stand in for reading an
    account again: it is younger than ``max_age`` seconds, was read after the start of a
    listing of changed documents (``since``, Zoho's clock) and no earlier than the newest
    change that listing found (``newest``), and no delete of the organization was recorded
    since (``deleted_since``). ``listing`` names the modules a run lists itself once it
    knows the oldest read it would take (``confirmed``): every posting module for a period
    run, the journals for an incremental one."""

    max_age: float
    since: float | None = None
    newest: float | None = None
    deleted_since: Callable[[float], bool] = lambda _at: False
    listing: tuple[str, ...] = ()

    def allows(self, kept: KeptMonth) -> bool:
        return (self.since is not None and self.since < kept.as_of
                and (self.newest is None or self.newest <= kept.as_of)
                and not self.deleted_since(kept.fetched_at))


def reuse_after(flow: Flow, changes: ExtractManifest | None, minutes: float
                ) -> Reuse | None:
    """When a ledger run of ``flow`` may take an account's month another ledger flow of
    the organization read in the last ``minutes`` (``ledger_reuse_minutes``): an
    incremental run judges by its own listing of changed documents (``changes``, from its
    watermark; a first run has none and reads); a period run lists the posting modules'
    changes since the oldest read it would take (``confirmed``)."""
    if not minutes:
        return None
    if flow.mode == "period":
        return Reuse(minutes * 60, listing=tuple(flow.change_entities))
    since = changes.window.get("modified_after") if changes is not None else None
    if changes is None or not since:
        return None
    newest = changes.max_last_modified_time
    # Journals are listed by date there (their modified filter matches one day): listed
    # again by the day of their change since the read it would take.
    by_day = tuple(m for m in flow.change_entities if not get_entity(m).modified_filter)
    return Reuse(minutes * 60, parse_zoho_time(since).timestamp(),
                 parse_zoho_time(newest).timestamp() if newest else None, listing=by_day)


def newest_change(client: ZohoBooksClient, modules: Sequence[str], since: float
                  ) -> float | None:
    """The newest ``last_modified_time`` (Zoho's clock) of a document of ``modules``
    modified after ``since``; None when none was. A request a module (more when pages
    fill); journals, whose filter matches one day only (``../shared/api`` notes), a request
    a day from ``since``'s to today's, with a day either side for the organization's
    zone."""
    moment = datetime.fromtimestamp(since, timezone.utc)
    today = datetime.fromtimestamp(client.served or client.clock(), timezone.utc).date()
    newest: float | None = None
    for module in modules:
        entity = get_entity(module)
        if entity.modified_filter:
            stamps = [moment]
        else:
            first = moment.date() - timedelta(days=1)
            stamps = [datetime.combine(first + timedelta(days=n), dtime(12), timezone.utc)
                      for n in range((today - first).days + 2)]
        for stamp in stamps:
            for row in client.iter_records(entity, {"last_modified_time":
                                                    format_zoho_time(stamp)}):
                if row.get("last_modified_time"):
                    at = parse_zoho_time(str(row["last_modified_time"])).timestamp()
                    if at > since and (newest is None or at > newest):
                        newest = at
    return newest


def confirmed(client: ZohoBooksClient, accounts: Sequence[LedgerAccount],
              merged: Sequence[Span], reuse: Reuse) -> Reuse | None:
    """``reuse`` made judgeable: the organization's recorded deletes, and where it names
    modules to list, when every account's every month the run reads is kept, those modules
    listed for changes since the oldest of those reads (``newest_change``); None without a
    state store or when a month is not kept (the run reads; nothing is listed)."""
    if client.store is None:
        return None
    deletes, org = DeleteLog(client.store), client.organization_id
    reuse = replace(reuse, deleted_since=lambda at: deletes.any_since(org, at))
    if not reuse.listing:
        return reuse
    oldest: float | None = None
    for start, end in merged:
        month = single_month(start, end)
        if month is None:
            return None
        for account in accounts:
            kept = client.kept_ledger.get(account.account_id, month, reuse.max_age)
            if kept is None:
                return None
            oldest = kept.as_of if oldest is None else min(oldest, kept.as_of)
    if oldest is None:
        return None
    listed = newest_change(client, reuse.listing, oldest)
    newest = max((t for t in (reuse.newest, listed) if t is not None), default=None)
    # A period run's listing starts at the oldest read; an incremental run's own at its
    # watermark.
    since = oldest - 1 if reuse.since is None else reuse.since
    return replace(reuse, since=since, newest=newest, listing=())


def single_month(start: date, end: date) -> date | None:
    """``start`` when ``[start, end)`` is one calendar month, else None."""
    return start if start.day == 1 and end == next_month(start) else None


def account_postings(client: ZohoBooksClient, account_id: str, start: date, end: date,
                     types: set[str] | None, reuse: Reuse | None,
                     taken: list[KeptMonth]) -> Iterator[Posting]:
    """The account's postings in ``[start, end)``: a kept month ``reuse`` allows (appended
    to ``taken``), else read, and a month read whole (every type) kept for other runs."""
    month = single_month(start, end) if client.store is not None else None
    if month is None:
        yield from iter_postings(client, account_id, start, end, transaction_types=types)
        return
    kept = client.kept_ledger
    if reuse is not None:
        found = kept.get(account_id, month, reuse.max_age)
        if found is not None and reuse.allows(found):
            taken.append(found)
            yield from (posting_of(r) for r in found.rows
                        if types is None or r.get("transaction_type") in types)
            return
    server_filtered = types is not None and len(types) == 1  # not the whole month: not kept
    rows: list[dict[str, Any]] = []
    as_of: float | None = None
    for row in ledger_rows(client, account_id, start, end,
                           transaction_types=types if server_filtered else None):
        as_of = client.served if as_of is None else as_of  # the first page's
        rows.append(row)
        if types is None or row.get("transaction_type") in types:
            yield posting_of(row)
    if not server_filtered:
        served = as_of if as_of is not None else client.served
        kept.put(account_id, month, (served or client.clock()) - SETTLE_SECONDS, rows)


def stage_ledger(client: ZohoBooksClient, accounts: Sequence[LedgerAccount],
                 windows: Sequence[ExtractWindow], path: Any, *,
                 transaction_types: Iterable[str] | None = None,
                 progress: Callable[[str], None] | None = None,
                 reuse: Reuse | None = None) -> ExtractManifest:
    """Write the postings of ``accounts`` dated in ``windows`` to ``path`` as JSON Lines
    (``transaction_types``: only these; None: all) and summarise what was read. An account's
    month may come from another ledger run's read of it, where ``reuse`` allows."""
    emit = progress or log.info
    merged = spans(windows)
    types = set(transaction_types) if transaction_types is not None else None
    before = client.requests
    if client.store is not None:  # at least one page per account and span
        client.quota.check(len(accounts) * len(merged),
                           f"ledger read of {len(accounts)} account(s) for organization "
                           f"{client.organization_id}")
    if reuse is not None:
        reuse = confirmed(client, accounts, merged, reuse)
    per_type: dict[str, int] = {}
    count = 0
    taken: list[KeptMonth] = []
    with path.open("w", encoding="utf-8") as sink:
        for start, end in merged:
            at_start, taken_before = count, len(taken)
            for account in accounts:
                for p in account_postings(client, account.account_id, start, end, types,
                                          reuse, taken):
                    # + 0 turns a negative zero ("-0.00") into "0.00"
                    amount = account.sign * (p.debit - p.credit) + Decimal(0)
                    sink.write(jsonl_line({
                        "transaction_id": p.transaction_id,
                        "transaction_type": p.transaction_type,
                        "transaction_date": p.date, "account_id": account.account_id,
                        "account_code": account.code, "account_name": account.name,
                        "account_type": account.type, "customer_id": p.contact_id,
                        "currency_code": p.currency_code, "debit": str(p.debit),
                        "credit": str(p.credit), "amount": str(amount)}))
                    per_type[p.transaction_type] = per_type.get(p.transaction_type, 0) + 1
                    count += 1
            reused = taken[taken_before:]
            emit(f"Ledger {start.isoformat()}..{end.isoformat()}: {count - at_start:,} "
                 f"posting(s) of {len(accounts)} account(s)"
                 + (f", {len(reused)} of them as another ledger flow read them at "
                    f"{_when(min(k.fetched_at for k in reused))} (no document changed "
                    "since)" if reused else "")
                 + f"; {client.requests - before:,} request(s) so far")
    described = [w.describe() for w in windows]
    return ExtractManifest(
        entity="ledger", organization_id=client.organization_id,
        window={"start": described[0]["start"], "end": described[-1]["end"],
                "modified_after": None},
        windows=described if len(described) > 1 else None, count=count,
        requests=client.requests - before, entities=per_type or None, path=str(path),
        cache_hits=len(taken))


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
