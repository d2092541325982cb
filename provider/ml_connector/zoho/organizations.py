"""Organizations of a Zoho login: one chosen by id or by name, and what a run needs to know
of it (name and base currency) from ``GET /organizations`` (one request; not charged to an
organization's daily quota: it names none)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ml_connector.errors import ConfigError
from ml_connector.flows.organizations import Organization, OrgFacts

if TYPE_CHECKING:
    from ml_connector.zoho.client import ZohoBooksClient


def choose(organizations: list[dict], wanted: str, login: str = "the connection") -> str:
    """The id of the organization ``wanted`` (an id, or a name, exactly as Zoho spells it)
    among those ``login`` reads; an error names the choices."""
    for org in organizations:
        if wanted in (str(org.get("organization_id")), org.get("name")):
            return str(org["organization_id"])
    choices = ", ".join(f"{o.get('organization_id')} ({o.get('name')})" for o in organizations)
    raise ConfigError(f"{login} reads no Zoho Books organization {wanted!r}; it reads: "
                      f"{choices or 'none'}. An organization in another data center needs "
                      "a connection of its own (zoho_conn_id)")


def organization_facts(client: ZohoBooksClient, org: Organization | None) -> OrgFacts:
    """Entity, id, name and base currency of the organization ``client`` reads."""
    wanted = client.organization_id
    found = next((o for o in client.organizations()
                  if str(o.get("organization_id")) == wanted), None)
    if found is None:
        raise ConfigError(f"the Zoho login no longer reads organization {wanted}")
    return OrgFacts(entity=org.entity if org else "",
                    organization_id=wanted, name=str(found.get("name") or ""),
                    currency=str(found.get("currency_code") or ""))
