"""Planning dimensions on documents: reporting tags, locations, projects, items and
salespersons (shared/api/zoho-books.md, "Planning dimensions on documents").

An organization's tags, locations and projects come from its ``OrgSpec`` and can change at
run time through the admin hooks (an option renamed or deactivated, a location or project
added). Generated documents draw their dimensions from the configured ones only, from a
random stream of their own (``Table.stream(i, "dims")``), so every value generated before
dimensions existed stays what it was.

What a document gets:

- Reporting tags, on the line items of invoices, bills, vendor credits, purchase orders and
  journals (credit notes too when ``DimensionsSpec.creditnote_tags``), in detail responses
  only: ``tags: [{"tag_id", "tag_name", "tag_option_id", "tag_option_name",
  "is_tag_mandatory"}]``, one entry per tag the line carries (none for a tag it is untagged
  for; ``[]`` for a line with none). A tag of level ``document`` is one entry per document
  in the header field ``DimensionsSpec.document_tag_field`` instead. Options with weight 0
  or past their ``used_until`` are never drawn. The names are the current ones when served
  (``option_names_on_documents: current``) or those of the document's time (``original``:
  a renamed option's ``renamed_from``).
- Locations (``location_id``, ``location_name``): on the header of the modules in
  ``DimensionsSpec.location_header_kinds`` (a general, active location), on the lines of
  ``location_line_kinds`` (the header's location on 80 % of lines, else any active
  location, line-item-only ones included). List rows of invoices, bills and expenses carry
  the header's.
- Projects (``project_id``, ``project_name``; ``""`` when none): on invoice, bill and
  journal lines, ``project_id`` alone on credit-note lines and on the expense header. An
  invoice's or credit note's lines get one of its customer's projects
  (``customer_project_share``); bill and journal lines and expenses any active project
  (``project_share``).
- Items: bill, vendor-credit and purchase-order lines carry the item's ``sku`` besides
  their ``account_id``/``account_name`` (invoice lines have ``item_id``, ``name`` and
  ``description`` already).
- Salesperson: ``salesperson_id`` next to ``salesperson_name`` on invoices (``""`` when
  none), list and detail.

Organizations without tags, locations or projects get none of their fields; ``sku`` and
``salesperson_id`` are on every organization's documents.
"""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ml_connector_sandbox.zoho import errors
from ml_connector_sandbox.zoho.config import MAX_TAG_OPTIONS, TAG_KINDS, DimensionsSpec, OrgSpec
from ml_connector_sandbox.zoho.seed import ITEMS, Catalog, Table, digest

if TYPE_CHECKING:
    from collections.abc import Callable

#: Id codes (``Catalog.make_id``) of the dimension objects; record kinds use 1-15.
TAG_CODE, OPTION_CODE, LOCATION_CODE, PROJECT_CODE, SALESPERSON_CODE = 16, 17, 18, 19, 20
#: Options of tag ``t`` are numbered from ``t * OPTION_BLOCK``.
OPTION_BLOCK = 1000
#: Share of the lines of a document with a header location that carry that location.
LINE_AT_HEADER_LOCATION = 0.8
#: Modules whose lines carry project_id and project_name; credit notes carry project_id.
PROJECT_LINE_KINDS = frozenset({"invoices", "bills", "journals"})
SKU_KINDS = frozenset({"bills", "vendorcredits", "purchaseorders"})
#: Modules whose records get tags, locations or projects.
DIMENSION_KINDS = frozenset({"invoices", "bills", "purchaseorders", "creditnotes",
                             "vendorcredits", "expenses", "journals"})


@dataclass
class Option:
    option_id: str
    name: str
    parent_id: str
    depth: int
    is_active: bool
    original_name: str
    weight: int
    used_until: date | None


@dataclass
class Tag:
    tag_id: str
    name: str
    is_active: bool
    is_mandatory: bool
    level: str
    tagged_share: float
    kinds: frozenset[str]
    options: list[Option] = field(default_factory=list)
    seeded: int = 0  # options from the config (generated documents draw only from these)


@dataclass
class Location:
    location_id: str
    name: str
    type: str
    parent_id: str
    is_primary: bool
    status: str
    weight: int

    def row(self) -> dict:
        return {"location_id": self.location_id, "location_name": self.name,
                "type": self.type, "parent_location_id": self.parent_id,
                "is_primary": self.is_primary, "status": self.status}


@dataclass
class Project:
    project_id: str
    name: str
    customer_id: str
    customer_name: str
    status: str
    billing_type: str

    def row(self) -> dict:
        return {"project_id": self.project_id, "project_name": self.name,
                "customer_id": self.customer_id, "customer_name": self.customer_name,
                "status": self.status, "billing_type": self.billing_type}


def _weighted(rng: random.Random, choices: list, weights: list[int]) -> Any:
    return rng.choices(choices, weights)[0] if choices else None


class Dimensions:
    """One organization's tags, locations and projects; draws them onto documents."""

    def __init__(self, catalog: Catalog, spec: OrgSpec, settings: DimensionsSpec,
                 customers: Table | None = None) -> None:
        self.catalog = catalog
        self.settings = settings
        self.customers = customers
        self._lock = threading.RLock()
        tag_kinds = set(TAG_KINDS) - (set() if settings.creditnote_tags else {"creditnotes"})
        self.tags: list[Tag] = []
        for t, tag_spec in enumerate(spec.reporting_tags):
            tag = Tag(catalog.make_id(TAG_CODE, t), tag_spec.name, tag_spec.is_active,
                      tag_spec.is_mandatory, tag_spec.level,
                      1.0 if tag_spec.is_mandatory else tag_spec.tagged_share,
                      frozenset(tag_kinds & set(tag_spec.kinds or TAG_KINDS)))
            ids = {o.name: catalog.make_id(OPTION_CODE, t * OPTION_BLOCK + k)
                   for k, o in enumerate(tag_spec.options)}
            parents = {o.name: o.parent for o in tag_spec.options}
            for o in tag_spec.options:
                depth, up = 0, o.parent
                while up is not None:
                    depth, up = depth + 1, parents[up]
                tag.options.append(Option(ids[o.name], o.name, ids[o.parent] if o.parent else "",
                                          depth, o.is_active, o.renamed_from or o.name,
                                          o.weight, o.used_until))
            tag.seeded = len(tag.options)
            self.tags.append(tag)
        location_ids = {x.name: catalog.make_id(LOCATION_CODE, k)
                        for k, x in enumerate(spec.locations)}
        self.locations = [Location(location_ids[x.name], x.name, x.type,
                                   location_ids[x.parent] if x.parent else "", x.is_primary,
                                   x.status, x.weight) for x in spec.locations]
        self.seeded_locations = len(self.locations)
        self.projects: list[Project] = []
        self._project_customers = [p.customer for p in spec.projects]
        self._project_specs = list(spec.projects)
        self.seeded_projects = len(spec.projects)
        self.project_share = spec.project_share
        self.customer_project_share = spec.customer_project_share

    def _ensure_projects(self) -> None:
        """Projects name their customers, which are generated records: read them lazily."""
        if len(self.projects) >= len(self._project_specs) or self.customers is None:
            return
        with self._lock:
            for k in range(len(self.projects), len(self._project_specs)):
                p = self._project_specs[k]
                customer = self.customers.record(p.customer)
                self.projects.append(Project(self.catalog.make_id(PROJECT_CODE, k), p.name,
                                             customer["contact_id"], customer["contact_name"],
                                             p.status, p.billing_type))

    # -- lookups ---------------------------------------------------------------------------

    def tag(self, tag_id: str) -> Tag:
        found = next((t for t in self.tags if t.tag_id == tag_id), None)
        if found is None:
            raise errors.not_found("Reporting tag")
        return found

    def option(self, tag_id: str, option_id: str) -> Option:
        found = next((o for o in self.tag(tag_id).options if o.option_id == option_id), None)
        if found is None:
            raise errors.not_found("Tag option")
        return found

    def salesperson_id(self, name: str) -> str:
        """A salesperson's id, derived from the name (``""`` for none)."""
        return self.catalog.make_id(SALESPERSON_CODE, digest(name) % 10**9) if name else ""

    # -- generation ------------------------------------------------------------------------

    def decorate(self, table: Table, i: int, record: dict) -> None:
        """Add the dimension fields to generated record ``i`` of ``table`` (in place)."""
        kind = table.kind.name
        if kind == "invoices" and "salesperson_name" in record:
            record["salesperson_id"] = self.salesperson_id(str(record["salesperson_name"]))
        raw = record.get("line_items")
        lines: list = raw if isinstance(raw, list) else []
        if kind in SKU_KINDS:
            for line in lines:
                item = self.catalog.index_of(6, str(line.get("item_id", "")))
                if item is not None:
                    line["sku"] = ITEMS[item % len(ITEMS)][1]
        if kind not in DIMENSION_KINDS or not (self.tags or self.locations
                                               or self._project_specs):
            return
        self._ensure_projects()
        rng = table.stream(i, "dims")
        day = _day(record, table.kind.date_field or "date")
        seeded = i < table.count
        settings = self.settings
        header = None
        if self.locations and kind in settings.location_header_kinds:
            header = self._draw_location(rng, headers=True)
            if header is not None:
                record["location_id"], record["location_name"] = header.location_id, header.name
        tags = [t for t in self.tags if kind in t.kinds]
        for tag in tags:
            if tag.level == "document":
                entry = self._draw_tag(rng, tag, day, seeded)
                record.setdefault(settings.document_tag_field, [])
                if entry is not None:
                    record[settings.document_tag_field].append(entry)
        projects = self._projects_for(kind, record)
        for line in lines:
            if any(t.level == "line" for t in tags):
                drawn = (self._draw_tag(rng, t, day, seeded) for t in tags if t.level == "line")
                line["tags"] = [entry for entry in drawn if entry is not None]
            if self.locations and kind in settings.location_line_kinds:
                at_header = rng.random() < LINE_AT_HEADER_LOCATION
                place = header if at_header and header is not None else \
                    self._draw_location(rng, headers=False)
                line["location_id"] = place.location_id if place else ""
                line["location_name"] = place.name if place else ""
            if self._project_specs and (kind in PROJECT_LINE_KINDS or kind == "creditnotes"):
                project = self._draw_project(rng, kind, projects)
                line["project_id"] = project.project_id if project else ""
                if kind != "creditnotes":
                    line["project_name"] = project.name if project else ""
        if self._project_specs and kind == "expenses":
            project = self._draw_project(rng, kind, projects)
            record["project_id"] = project.project_id if project else ""

    def _draw_tag(self, rng: random.Random, tag: Tag, day: str, seeded: bool) -> dict | None:
        tagged = rng.random() < tag.tagged_share
        options = [o for o in tag.options[:tag.seeded] if o.weight
                   and (o.used_until is None or day <= o.used_until.isoformat())]
        option = _weighted(rng, options, [o.weight for o in options])
        if not tagged or option is None:
            return None
        use_original = seeded and self.settings.option_names_on_documents == "original"
        return {"tag_id": tag.tag_id, "tag_name": tag.name,
                "tag_option_id": option.option_id,
                "tag_option_name": option.original_name if use_original else option.name,
                "is_tag_mandatory": tag.is_mandatory}

    def _draw_location(self, rng: random.Random, headers: bool) -> Location | None:
        found = [x for x in self.locations[:self.seeded_locations]
                 if x.status == "active" and x.weight and (x.type == "general" or not headers)]
        return _weighted(rng, found, [x.weight for x in found])

    def _projects_for(self, kind: str, record: Mapping[str, Any]) -> list[Project]:
        """The projects a document's lines may carry."""
        active = [p for p in self.projects[:self.seeded_projects] if p.status == "active"]
        if kind in ("invoices", "creditnotes"):
            return [p for p in active if p.customer_id == record.get("customer_id")]
        return active

    def _draw_project(self, rng: random.Random, kind: str,
                      projects: list[Project]) -> Project | None:
        share = self.customer_project_share if kind in ("invoices", "creditnotes") \
            else self.project_share
        carried = rng.random() < share
        project = rng.choice(projects) if projects else None
        return project if carried else None

    # -- presentation ----------------------------------------------------------------------

    def present(self, kind: str, record: dict) -> dict:
        """``record`` (a copy) as served now: tag and option names made current, unless
        documents keep the names of their time."""
        if not self.tags or self.settings.option_names_on_documents != "current":
            return record
        names = self._names()
        entries: list[Any] = list(record.get(self.settings.document_tag_field) or []) \
            if isinstance(record.get(self.settings.document_tag_field), list) else []
        for line in record.get("line_items") or []:
            if isinstance(line, dict) and isinstance(line.get("tags"), list):
                entries.extend(line["tags"])
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            tag_name = names.get(str(entry.get("tag_id")))
            if tag_name is not None:
                entry["tag_name"] = tag_name
            option_name = names.get(str(entry.get("tag_option_id")))
            if option_name is not None:
                entry["tag_option_name"] = option_name
        return record

    def _names(self) -> dict[str, str]:
        with self._lock:
            found = {t.tag_id: t.name for t in self.tags}
            found.update({o.option_id: o.name for t in self.tags for o in t.options})
            return found

    # -- API bodies ------------------------------------------------------------------------

    def reportingtags_body(self) -> dict:
        """``GET /reportingtags`` (observed shape)."""
        with self._lock:
            rows = [{"tag_id": t.tag_id, "tag_name": t.name, "is_active": t.is_active,
                     "is_mandatory": t.is_mandatory} for t in self.tags]
        return {"code": 0, "message": "success", "tags": rows}

    def options_body(self, tag_id: str) -> dict:
        """``GET /reportingtags/{tag_id}/options/all`` (observed shape): options in
        hierarchy order (each after its parent) with their depth, then the pseudo-option
        for untagged lines."""
        parent_field = self.settings.option_parent_field
        with self._lock:
            tag = self.tag(tag_id)
            children: dict[str, list[Option]] = {}
            for option in tag.options:
                children.setdefault(option.parent_id, []).append(option)
            rows: list[dict] = []

            def walk(parent_id: str) -> None:
                for option in children.get(parent_id, []):
                    rows.append({"option_id": option.option_id,
                                 "option_name": self._served(option.name),
                                 "depth": option.depth, parent_field: option.parent_id,
                                 "is_active": option.is_active})
                    walk(option.option_id)

            walk("")
        untagged = self.settings.untagged_option
        if untagged is not None:
            rows.append({"option_id": untagged.option_id, "option_name": untagged.option_name,
                         "depth": 0, parent_field: "", "is_active": True})
        return {"code": 0, "message": "success", "results": rows}

    def settings_tags_body(self) -> dict:
        """``GET /settings/tags`` (the older shape): option names joined by commas."""
        with self._lock:
            rows = [{"tag_id": t.tag_id, "tag_name": t.name,
                     "tag_options": ",".join(o.name for o in t.options)} for t in self.tags]
        return {"code": 0, "message": "success", "reporting_tags": rows}

    def settings_tag_body(self, tag_id: str) -> dict:
        """``GET /settings/tags/{tag_id}`` (the older shape)."""
        with self._lock:
            tag = self.tag(tag_id)
            options = [{"tag_option_id": o.option_id, "tag_option_name": self._served(o.name)}
                       for o in tag.options]
        return {"code": 0, "message": "success",
                "reporting_tag": {"tag_id": tag.tag_id, "tag_name": tag.name,
                                  "tag_options": options}}

    def locations_body(self) -> dict:
        """``GET /locations``."""
        with self._lock:
            rows = [{**x.row(), "location_name": self._served(x.name)} for x in self.locations]
        return {"code": 0, "message": "success", "locations": rows}

    def _served(self, name: str) -> str | None:
        """A name as the tag and location lists serve it (null: ``null_names``)."""
        return None if name in self.settings.null_names else name

    def projects_body(self, params: Mapping[str, str],
                      paging: Callable[[Mapping[str, str]], tuple[int, int]]) -> dict:
        """``GET /projects``: pages of up to 200 like every list."""
        self._ensure_projects()
        page, per_page = paging(params)
        with self._lock:
            rows = [p.row() for p in self.projects]
        start = (page - 1) * per_page
        return {"code": 0, "message": "success", "projects": rows[start:start + per_page],
                "page_context": {"page": page, "per_page": per_page,
                                 "has_more_page": start + per_page < len(rows),
                                 "report_name": "Projects", "applied_filter": "Status.All",
                                 "sort_column": "project_name", "sort_order": "A"}}

    # -- admin -----------------------------------------------------------------------------

    def edit_option(self, tag_id: str, option_id: str, changes: Mapping[str, Any]) -> dict:
        """Rename (``option_name``), deactivate or reactivate (``is_active``) or move
        (``parent_option_id``, ``""`` for the top) an option. Documents are not modified:
        their ``last_modified_time`` stays, their details show the new name (``current``)."""
        unknown = set(changes) - {"option_name", "is_active", "parent_option_id"}
        if unknown:
            raise ValueError(f"an option has no {', '.join(sorted(unknown))}")
        with self._lock:
            tag = self.tag(tag_id)
            option = self.option(tag_id, option_id)
            if "option_name" in changes:
                name = str(changes["option_name"])
                if any(o.name == name for o in tag.options if o is not option):
                    raise ValueError(f"tag {tag.name!r} has an option {name!r} already")
                option.name = name
            if "is_active" in changes:
                option.is_active = bool(changes["is_active"])
            if "parent_option_id" in changes:
                self._move(tag, option, str(changes["parent_option_id"] or ""))
            return self._option_row(option)

    def add_option(self, tag_id: str, fields: Mapping[str, Any]) -> dict:
        """A new option (``option_name``, optional ``parent_option_id``, ``is_active``);
        generated documents never carry it."""
        with self._lock:
            tag = self.tag(tag_id)
            if len(tag.options) >= MAX_TAG_OPTIONS:
                raise ValueError(f"tag {tag.name!r} has {MAX_TAG_OPTIONS} options, Zoho's "
                                 "limit")
            name = str(fields.get("option_name", ""))
            if not name or any(o.name == name for o in tag.options):
                raise ValueError(f"option name {name!r} is empty or taken")
            t = self.tags.index(tag)
            option = Option(self.catalog.make_id(OPTION_CODE, t * OPTION_BLOCK
                                                 + len(tag.options)),
                            name, "", 0, bool(fields.get("is_active", True)), name, 0, None)
            tag.options.append(option)
            self._move(tag, option, str(fields.get("parent_option_id") or ""))
            return self._option_row(option)

    @staticmethod
    def _move(tag: Tag, option: Option, parent_id: str) -> None:
        by_id = {o.option_id: o for o in tag.options}
        if parent_id and parent_id not in by_id:
            raise ValueError(f"tag {tag.name!r} has no option {parent_id}")
        up = parent_id
        while up:
            if up == option.option_id:
                raise ValueError("an option cannot sit under itself")
            up = by_id[up].parent_id
        option.parent_id = parent_id
        for o in tag.options:  # depths follow the new parents
            depth, up = 0, o.parent_id
            while up:
                depth, up = depth + 1, by_id[up].parent_id
            o.depth = depth

    def _option_row(self, option: Option) -> dict:
        return {"option_id": option.option_id, "option_name": option.name,
                "depth": option.depth, self.settings.option_parent_field: option.parent_id,
                "is_active": option.is_active}

    def add_location(self, fields: Mapping[str, Any]) -> dict:
        """A new location (``location_name``, ``type``, ``parent_location_id``, ``status``,
        ``is_primary``); generated documents never carry it."""
        with self._lock:
            name = str(fields.get("location_name", ""))
            if not name or any(x.name == name for x in self.locations):
                raise ValueError(f"location name {name!r} is empty or taken")
            parent = str(fields.get("parent_location_id") or "")
            if parent and parent not in {x.location_id for x in self.locations}:
                raise ValueError(f"no location {parent}")
            kind = str(fields.get("type", "general"))
            status = str(fields.get("status", "active"))
            if kind not in ("general", "line_item_only") or status not in ("active",
                                                                           "inactive"):
                raise ValueError("type is general or line_item_only, status active or "
                                 "inactive")
            primary = bool(fields.get("is_primary", False))
            if primary:
                for x in self.locations:
                    x.is_primary = False
            location = Location(self.catalog.make_id(LOCATION_CODE, len(self.locations)), name,
                                kind, parent, primary, status, 0)
            self.locations.append(location)
            return location.row()

    def snapshot(self) -> dict:
        """Tags with their options, locations and projects (for the admin routes)."""
        self._ensure_projects()
        with self._lock:
            return copy.deepcopy({
                "tags": [{"tag_id": t.tag_id, "tag_name": t.name, "is_active": t.is_active,
                          "is_mandatory": t.is_mandatory, "level": t.level,
                          "options": [self._option_row(o) for o in t.options]}
                         for t in self.tags],
                "locations": [x.row() for x in self.locations],
                "projects": [p.row() for p in self.projects],
            })


def _day(record: Mapping[str, Any], date_field: str) -> str:
    return str(record.get(date_field, ""))
