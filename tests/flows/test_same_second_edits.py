"""Two edits of one invoice within one second (Zoho stamps ``last_modified_time`` in whole
seconds, so both carry the same stamp), with a run reading the invoice between them: the
next run still brings the second version to Anaplan. Cells are compared with the sandbox's
own profit and loss."""

from __future__ import annotations

from datetime import date

from ml_connector_sandbox.zoho.pnl import NO_POSTINGS, actuals

from ..cells import ORG, account_cells

JAN, APR = date(2026, 1, 1), date(2026, 4, 1)
DAY = [date(2026, 4, d) for d in range(1, 5)]


def details_fetched(sandbox) -> int:
    org = sandbox.sandbox.zoho.stats()["organizations"][ORG]
    return org["by_path"].get("/books/v3/invoices/{id}", 0)


def test_a_second_edit_within_the_second_of_the_first_reaches_anaplan(sandbox, flows):
    zoho, clock = sandbox.sandbox.zoho, sandbox.sandbox.clock

    def oracle() -> dict:
        return actuals(zoho, ORG, ["invoices", "creditnotes"], JAN, APR)

    flows.run("accounts", date(2026, 3, 31), APR)
    flows.run("invoice_actuals_daily", DAY[0], DAY[1])  # every month; fills the cache
    assert account_cells(sandbox) == oracle()

    invoice = next(i for i in zoho.documents(ORG, "invoices", "2026-01", "2026-02")
                   if i["status"] not in NO_POSTINGS)
    line = invoice["line_items"][0]
    chart = {a["account_id"]: a for a in zoho.documents(ORG, "chartofaccounts")}
    other = next(a for a in chart.values() if a["account_type"] == "income"
                 and a.get("account_code") and a["account_id"] != line["account_id"])

    # Second S: the first edit, then run A reads the invoice, all before the clock moves on.
    clock.hold()
    raised = {**line, "item_total": round(line["item_total"] + 1000, 2)}
    first = zoho.edit_record(ORG, "invoices", invoice["invoice_id"],
                             {"line_items": [raised, *invoice["line_items"][1:]]})
    fetched = details_fetched(sandbox)
    run_a = flows.run("invoice_actuals_daily", DAY[1], DAY[2])
    assert details_fetched(sandbox) == fetched + 1, "run A read the first version"
    assert run_a.watermark == first["last_modified_time"], "the watermark is that second"
    assert account_cells(sandbox) == oracle()

    # Still within S: the line moves to another income account. The list row stays as it
    # was (same total, same stamp): only the detail tells the versions apart.
    store = zoho.store(ORG, "invoices")
    listed = store.row(store.index(invoice["invoice_id"]))
    moved = {**raised, "account_id": other["account_id"], "account_name": other["account_name"]}
    second = zoho.edit_record(ORG, "invoices", invoice["invoice_id"],
                              {"line_items": [moved, *invoice["line_items"][1:]]},
                              same_second=True)
    assert second["last_modified_time"] == first["last_modified_time"]
    assert store.row(store.index(invoice["invoice_id"])) == listed
    clock.release()
    clock.advance(3600)

    # Run B, an hour later, incremental from the watermark less its overlap: it lists the
    # invoice again and must read its second version, not the first one from the cache.
    before, fetched = account_cells(sandbox), details_fetched(sandbox)
    flows.run("invoice_actuals_daily", DAY[2], DAY[3])
    assert details_fetched(sandbox) == fetched + 1, "the invoice read within its second"
    expected = oracle()
    assert account_cells(sandbox) == expected
    month = next(period for _, period in expected if period.startswith("Jan"))
    assert expected[(other["account_code"], month)] != before.get((other["account_code"],
                                                                   month))

    # Settled now: run C reads nothing more from Zoho's details.
    fetched = details_fetched(sandbox)
    clock.advance(3600)
    flows.run("invoice_actuals_daily", DAY[3], date(2026, 4, 5))
    assert details_fetched(sandbox) == fetched
