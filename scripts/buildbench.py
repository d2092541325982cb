"""The build step against the cost of reading its input (part of `make bench`).

Staged invoices (with lines, some tax-inclusive, discounted or with shipping) are mapped by
the shipped `invoice_actuals` (aggregate, postings) and `invoice_lines` (record grain) flows
into their import files, side by side with a bare `json.loads` loop over the same file (and
the same loop through the build's own reader), at growing sizes; the peak of Python
allocations during each build shows whether memory stays flat.
"""

from __future__ import annotations

import io
import json
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from ml_connector.flows.mapping import build_file, lookup_tables
from ml_connector.flows.postings import posting_accounts
from ml_connector.flows.run import read_records
from ml_connector.flows.spec import Flow, load_flows

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000, 1_000_000)
#: Peak memory is traced up to this size (tracing slows a build several times over); flat
#: from 10k to 100k is flat.
TRACED = 100_000
FLOWS = ("invoice_actuals", "invoice_lines")
CHART = [{"account_id": f"a{i}", "account_code": str(4000 + i), "account_name": name}
         for i, name in enumerate(("Sales", "Product Sales", "Shipping Charge", "Other Charges"))]


def invoice(i: int, rng: random.Random) -> dict:
    lines = [{"line_item_id": f"{i}-{k}", "item_id": "1", "name": "Widget",
              "description": "Widget", "account_id": f"a{rng.randrange(2)}",
              "rate": 10.0, "quantity": 1.0, "discount": 0.0, "discount_amount": 0.0,
              "tax_id": "t", "tax_name": "Tax", "tax_percentage": 8.25,
              "item_total": round(rng.uniform(1, 900), 2)} for k in range(rng.randint(1, 4))]
    return {"invoice_id": str(i), "invoice_number": f"INV-{i:07d}", "customer_id": "c1",
            "status": "sent", "date": f"2026-0{1 + i % 3}-{1 + i % 28:02d}",
            "currency_code": "EUR", "exchange_rate": 1.08, "is_inclusive_tax": i % 5 == 0,
            "discount_type": "entity_level" if i % 4 == 0 else "item_level",
            "discount_amount": 5.0 if i % 4 == 0 else 0.0,
            "shipping_charge": 7.5 if i % 3 == 0 else 0.0, "adjustment": 0.0,
            "last_modified_time": "2026-03-31T10:00:00-0800", "line_items": lines}


def records(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def build(flow: Flow, path: Path) -> None:
    """The import file (and members) of ``flow`` from the staged records at ``path``, read
    as a flow run reads them."""
    with tempfile.TemporaryFile("w+") as csv_out, tempfile.TemporaryFile("w+") as members:
        build_file(flow, read_records(path), lookup_tables(flow, {"chartofaccounts": CHART}),
                   csv_out, members, io.StringIO(), cells_out=io.StringIO(),
                   accounts=posting_accounts(flow, lambda: CHART))


def measure(n: int, work: Path) -> dict:
    path = work / f"invoices-{n}.jsonl"
    rng = random.Random(n)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(json.dumps(invoice(i, rng)) + "\n")
    repeats = 3 if n <= TRACED else 1  # the best of three where a run is short

    def best(work: Callable[[], object]) -> float:
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            work()
            times.append(time.perf_counter() - began)
        return min(times)

    lines = sum(len(r["line_items"]) for r in records(path))
    result = {"records": n, "lines": lines,
              "bare": best(lambda: sum(len(r["line_items"]) for r in records(path))),
              "reader": best(lambda: sum(len(r["line_items"]) for r in read_records(path)))}
    spec = load_flows(ROOT / "dags" / "flows.yaml")
    for flow in (f for f in spec.flows if f.id in FLOWS):
        result[flow.id] = best(lambda flow=flow: build(flow, path))
        if n <= TRACED:
            tracemalloc.start()  # a second pass: tracing slows the build several times over
            build(flow, path)
            result[f"{flow.id}_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    path.unlink()
    return result


def main() -> list[str]:
    """Measure every size; returns the printed table's lines."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(n, Path(tmp)) for n in SIZES]
    lines = [f"{'invoices':>9} {'lines':>9} {'json.loads':>10} {'reader':>7}  "
             + "  ".join(f"{f + ' (ratio, peak MiB)':>38}" for f in FLOWS)]
    for r in rows:
        cells = "  ".join(f"{r[f]:>12.2f}s {r[f] / r['bare']:>9.2f}x "
                          + (f"{r[f + '_mib']:>12.1f}" if f + "_mib" in r else f"{'-':>12}")
                          for f in FLOWS)
        lines.append(f"{r['records']:>9,} {r['lines']:>9,} {r['bare']:>9.2f}s "
                     f"{r['reader']:>6.2f}s  {cells}")
    lines.append("ratio: build time / the json.loads loop; reader: the same loop through the "
                 "build's own reader (msgspec)")
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
