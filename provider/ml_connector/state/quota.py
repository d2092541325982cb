"""An organization's daily Zoho request quota, shared by every flow and worker.

Zoho caps requests per organization and day by plan, and the cap is shared with every other
integration of that organization. Zoho reports the day's state on every response
(``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset``, the seconds until the day resets;
see the API notes). One row per organization in the state store keeps the latest reading,
corrected by the requests this connector sends in between, so an extract can be forecast
against what is really left before it spends anything.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case, or_, select, update

from ml_connector.errors import ConnectorError, QuotaExhausted
from ml_connector.state import schema
from ml_connector.state.store import StateStore

log = logging.getLogger(__name__)

DAY = 86400.0
#: Zoho's published daily caps by plan.
PLAN_DAILY_LIMITS = {"free": 1000, "standard": 2000, "professional": 5000, "premium": 10000,
                     "elite": 10000, "ultimate": 10000}


@dataclass(frozen=True)
class QuotaReading:
    """What one response said about the day: its cap, what is left, seconds to the reset."""

    limit: int
    remaining: int
    reset: float

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> QuotaReading | None:
        try:
            return cls(int(headers["X-Rate-Limit-Limit"]),
                       int(headers["X-Rate-Limit-Remaining"]),
                       max(float(headers["X-Rate-Limit-Reset"]), 0.0))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class QuotaState:
    """The day as the store knows it; ``None`` where nothing has told us yet."""

    limit: int | None
    remaining: int | None
    resets_at: float | None
    used: int

    def left(self) -> int | None:
        if self.remaining is not None:
            return self.remaining
        return None if self.limit is None else max(self.limit - self.used, 0)


def _when(moment: float | None, now: float) -> str:
    if moment is None:
        return "at the organization's next midnight"
    minutes = max(int((moment - now) // 60), 0)
    stamp = datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"at {stamp} (in {minutes // 60} h {minutes % 60} min)"



class DailyQuota:
    """The daily quota of one organization (``org_key``), kept in the state store.

    ``record`` is called for every response; readings and counts are written at most every
    ``flush_every`` seconds (and before every ``state``/``check``). ``reserve`` is the share
    of the cap left for the organization's other integrations; ``daily_limit`` is the cap to
    assume until Zoho has reported one.
    """

    def __init__(self, store: StateStore, org_key: str, *, reserve: float = 0.2,
                 daily_limit: int | None = None, clock: Callable[[], float] = time.time,
                 flush_every: float = 2.0) -> None:
        if not 0 <= reserve < 1:
            raise ConnectorError(f"the daily reserve must be a fraction in [0, 1), got {reserve}")
        self.store = store
        self.org_key = org_key
        self.reserve = reserve
        self.daily_limit = daily_limit
        self.clock = clock
        self.flush_every = flush_every
        self._lock = threading.Lock()
        self._pending = 0
        self._reading: tuple[QuotaReading, float] | None = None
        self._flushed = clock()

    def record(self, reading: QuotaReading | None) -> None:
        """Count one request, with the quota its response reported (if any)."""
        with self._lock:
            self._pending += 1
            if reading is not None:
                self._reading = (reading, self.clock())
            due = self.clock() - self._flushed >= self.flush_every
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, reading = self._pending, self._reading
            self._pending, self._reading, self._flushed = 0, None, self.clock()
        if not pending and reading is None:
            return
        table = schema.zoho_quota
        mine = table.c.org_key == self.org_key
        now = self.clock()
        with self.store.engine.begin() as conn:
            self._roll_over(conn, now)
            values: dict = {"used": table.c.used + pending, "updated_at": now}
            if reading is not None:
                # Within a day what remains only shrinks: the lowest reading is the newest,
                # whichever worker flushes first.
                got, at = reading
                resets_at = at + got.reset
                new_day = or_(table.c.remaining.is_(None), table.c.resets_at.is_(None),
                              table.c.resets_at < resets_at - 3600)
                values.update(daily_limit=got.limit, resets_at=resets_at, remaining=case(
                    (new_day, got.remaining),
                    (table.c.remaining > got.remaining, got.remaining),
                    else_=table.c.remaining))
            else:
                values["remaining"] = case((table.c.remaining.is_(None), None),
                                           else_=table.c.remaining - pending)
            # The first flush of an organization creates its row; two workers may both be
            # first, so the row is inserted only if missing and then updated like any other.
            self.store.insert_missing(conn, table, {
                "org_key": self.org_key, "used": 0, "updated_at": now, "daily_limit": None,
                "remaining": None, "resets_at": None})
            conn.execute(update(table).where(mine).values(**values))

    def _roll_over(self, conn, now: float) -> None:
        """A day that has reset starts again: nothing used, the whole cap remaining."""
        table = schema.zoho_quota
        row = conn.execute(select(table.c.resets_at).where(
            table.c.org_key == self.org_key)).one_or_none()
        if row is None or row.resets_at is None or row.resets_at > now:
            return
        days = math.floor((now - row.resets_at) / DAY) + 1
        conn.execute(update(table).where(table.c.org_key == self.org_key,
                                         table.c.resets_at == row.resets_at)
                     .values(used=0, remaining=table.c.daily_limit,
                             resets_at=row.resets_at + days * DAY))

    def state(self) -> QuotaState:
        self.flush()
        table = schema.zoho_quota
        with self.store.engine.begin() as conn:
            self._roll_over(conn, self.clock())
            row = conn.execute(select(table).where(table.c.org_key == self.org_key)
                               ).one_or_none()
        if row is None:
            return QuotaState(self.daily_limit, None, None, 0)
        return QuotaState(row.daily_limit or self.daily_limit, row.remaining, row.resets_at,
                          row.used)

    def room(self) -> int | None:
        """Requests that still fit today beyond the reserve (``None``: not known yet)."""
        state = self.state()
        left = state.left()
        if state.limit is None or left is None:
            return None
        return max(left - math.ceil(state.limit * self.reserve), 0)

    def check(self, forecast: int, what: str) -> QuotaState:
        """Raise ``QuotaExhausted`` unless ``forecast`` requests fit in what is left today
        beyond the reserve."""
        state = self.state()
        left = state.left()
        if state.limit is None or left is None:
            log.info("%s: the daily quota is not known yet (Zoho reports it with the first "
                     "response); %d request(s) planned", what, forecast)
            return state
        kept = math.ceil(state.limit * self.reserve)
        if forecast > left - kept:
            whole_day = state.limit - kept
            days = ("" if forecast <= whole_day else
                    f" It is more than a whole day's share ({whole_day:,}): with on_quota "
                    f"'wait' it takes about {math.ceil(forecast / max(whole_day, 1))} days, "
                    "fetching what fits each day.")
            raise QuotaExhausted(
                f"{what} needs {forecast:,} Zoho request(s), but {left:,} of the "
                f"organization's {state.limit:,} for today remain and {kept:,} "
                f"({self.reserve:.0%}) are kept for its other integrations; the quota resets "
                f"{_when(state.resets_at, self.clock())}.{days} Nothing was lost: what was "
                "fetched is cached. Run it after the reset (on_quota 'wait' defers until "
                "then), lower the connection's daily_reserve, or spread the work over days.",
                resets_at=state.resets_at)
        log.info("%s: %d request(s) planned; %d of %d left today (%d kept in reserve)",
                 what, forecast, left, state.limit, kept)
        return state

    def exhausted(self, what: str) -> QuotaExhausted:
        """The error for a daily cap Zoho has already enforced (429 code 45)."""
        state = self.state()
        return QuotaExhausted(
            f"{what}: Zoho refused the request because the organization's daily quota "
            f"({state.limit or 'its plan cap'}) is used up (code 45); it resets "
            f"{_when(state.resets_at, self.clock())}. What was fetched so far is cached and "
            "will not be fetched again.", resets_at=state.resets_at)
