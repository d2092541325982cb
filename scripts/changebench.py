"""What noticing changes costs in Zoho requests, per way (part of `make bench`).

On the demo company (a sandbox in its own process, sandbox clock): the watchers' own
requests per check and per day for the modules the shipped incremental and dimension
flows watch, with webhooks (the watcher reads the state store) and with polling
(``changes.source: poll``: one list request per module and check, measured); then what a
change costs once noticed: an incremental invoice run after one edited invoice, against
the same flow's first run.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from budget import DEMO_ORG, RemoteSandbox, Simulator, sandbox_config

from ml_connector.dag_factory import list_flows, watched_modules
from ml_connector.flows.spec import load_flows
from ml_connector.state.events import EventLog
from ml_connector.state.store import StateStore
from ml_connector.webhooks.watch import ChangePoll

ROOT = Path(__file__).resolve().parent.parent
FREE_DAY = 1000


def watched(spec) -> list[str]:
    """The modules the shipped flows' asset watchers watch."""
    lists = list_flows(spec.flows)
    return sorted({m for f in spec.flows for m in watched_modules(f, lists)})


def main() -> list[str]:
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    flows = {f.id: f for f in spec.flows}
    modules = watched(spec)
    with tempfile.TemporaryDirectory() as tmp, RemoteSandbox(sandbox_config(),
                                                             Path(tmp)) as running:
        store = StateStore(f"sqlite:///{Path(tmp) / 'state.db'}")
        sim = Simulator(running, DEMO_ORG, spec, store, Path(tmp))
        client = sim.client()
        poll = ChangePoll(client, EventLog(store), "bench", modules)
        before = sim.charged()
        poll.check()  # the baseline
        per_check = sim.charged() - before
        client.close()
        at = datetime.fromtimestamp(running.now(), timezone.utc)
        flow = flows["invoice_actuals_daily"]
        first = sim.run(flow, at)
        invoice = next(iter(sim.sent[flow.id]), None) if sim.sent.get(flow.id) else None
        running.advance(60)
        if invoice is None:
            raise SystemExit("the first run sent no invoice")
        running.edit(DEMO_ORG, "invoices", invoice, {"reference_number": "bench"})
        running.advance(60)
        one = sim.run(flow, at + timedelta(minutes=2))
    lines = [f"Watchers of {len(modules)} modules ({', '.join(modules)}), demo company:",
             f"  {'how changes are noticed':<30} {'requests/check':>14} {'checks/day':>10} "
             f"{'requests/day':>12} {'of a Free day':>13}"]
    rows = [("webhooks (state store)", 0, 86400 // 5)]
    rows += [(f"poll every {m} minutes", per_check, 1440 // m) for m in (60, 15, 5)]
    for name, per, checks in rows:
        day = per * checks
        lines.append(f"  {name:<30} {per:>14,} {checks:>10,} {day:>12,} "
                     f"{day / FREE_DAY:>12.0%}")
    lines.append(f"Once noticed, invoice_actuals_daily after one edited invoice: {one:,} "
                 f"requests (its first run: {first:,}); the same with either way of noticing")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
