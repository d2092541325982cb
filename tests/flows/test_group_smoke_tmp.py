from datetime import date
from decimal import Decimal
import csv

from ml_connector.flows.local import walk
from ml_connector.flows.plan import flow_plan
from ml_connector.flows.run import FlowRun
from ml_connector.flows.spec import parse_flows
from ml_connector.state.store import StateStore
from ml_connector.zoho.client import ZohoConfig, ZohoBooksClient
from ..conftest import zoho_credentials, FAST_RETRY
from .conftest import stamp

SPEC = {"defaults": {}, "flows": [{
    "id": "group_pl", "source": "ledger", "mode": "period", "grain": "aggregate",
    "target": {"import": "GL Actuals by Account and Month"},
    "organizations": [{"entity": "US"}, {"entity": "LABS", "organization_id": "10234696"},
                      {"entity": "DE", "zoho_conn_id": "zoho_eu"}],
    "columns": {"Entity": {"organization": "entity"}, "Currency": {"organization": "currency"},
                "Account": {"field": "account_code"},
                "Period": {"period": "transaction_date"}, "Amount": {"amount": "amount"}}}]}


def test_smoke(sandbox, anaplan_client, tmp_path, request):
    spec = parse_flows(SPEC)
    store = StateStore.sqlite(tmp_path / "s.db")
    regions = {"zoho_books_default": "us", "zoho_eu": "eu"}
    def zoho_for(org):
        region = regions[org.conn_id("zoho_books_default")]
        def make():
            c = ZohoBooksClient(zoho_credentials(sandbox, region), ZohoConfig(
                region=region, endpoint_base=sandbox.base_url, requests_per_minute=100000,
                retry=FAST_RETRY, organization_id=org.organization_id or (
                    "10234695" if region == "us" else None)), store=store)
            return c
        return make
    run = FlowRun(spec.flows[0], store, "r1", (stamp(date(2026,1,1)), stamp(date(2026,2,1))),
                  tmp_path, zoho_for=zoho_for, anaplan=anaplan_client, defaults=spec.defaults,
                  sleep=sandbox.sandbox.clock.advance)
    done = walk(run, flow_plan(run.flow, spec.defaults), through="combine")
    print(done.failed, done.skipped)
    built = done.outputs["combine"]
    rows = list(csv.reader(open(built.path)))
    print(rows[:3], len(rows), sorted({r[0] for r in rows[1:]}), sorted({r[1] for r in rows[1:]}))
    assert not done.failed
