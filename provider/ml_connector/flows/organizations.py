"""Several Zoho Books organizations in one flow: each is read as its own unit of work (its
steps grouped under its key), and their whole cells are combined into one import file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: What an ``organization:`` column holds.
FACTS = ("entity", "currency", "id", "name")


class Organization(BaseModel):
    """One organization of a flow: the Entity member its cells go to, and where it is read.

    ``entity`` is also its key in the state store and the Airflow task group of its steps.
    ``zoho_conn_id`` defaults to the file's; ``organization_id`` (or ``organization``, its
    name, found through ``GET /organizations``) defaults to the connection's own."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    entity: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="the Entity member "
                        "code of the organization's cells; its key in the state store")
    zoho_conn_id: str | None = Field(default=None, description="the Zoho connection that "
                                     "reads it (one per data center and login)")
    organization_id: str | None = Field(default=None, pattern=r"^\d{4,19}$")
    organization: str | None = Field(default=None, description="the organization's name, "
                                     "found through GET /organizations (one request a run)")

    @model_validator(mode="after")
    def _one_way(self) -> Organization:
        if self.organization_id is not None and self.organization is not None:
            raise ValueError("give organization_id or organization (its name), not both")
        return self

    @property
    def group(self) -> str:
        """The Airflow task group of its steps (and the prefix of their task ids)."""
        return self.entity.lower()

    def conn_id(self, default: str) -> str:
        return self.zoho_conn_id or default

    @property
    def wanted(self) -> str | None:
        """The organization asked for: its id, or its name."""
        return self.organization_id or self.organization

    def inherits(self, default_conn: str) -> bool:
        """Whether it is the connection's own organization on the file's connection: it
        takes over the state a single-organization flow kept before organizations were
        named."""
        return self.conn_id(default_conn) == default_conn and self.wanted is None


class OrgFacts(BaseModel):
    """What a run learned of one organization: its entity, id, name and base currency."""

    entity: str = ""
    organization_id: str = ""
    name: str = ""
    currency: str = ""

    def fact(self, what: str) -> str:
        return {"entity": self.entity, "currency": self.currency,
                "id": self.organization_id, "name": self.name}[what]
