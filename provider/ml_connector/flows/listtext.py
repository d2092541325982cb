"""A list flow's text read back: after the import, the members of the list the flow loads
(``loads``) are compared with the code and name each record sent, and every record whose
text Anaplan holds differently (a name trimmed, a blank name replaced by the code, a row
rejected) or whose name Zoho did not give (sent empty) is named: nothing is changed
silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from ml_connector.anaplan.models import ListItem
from ml_connector.flows.files import Member
from ml_connector.flows.spec import Column, Flow

Kind = Literal["trimmed", "named_by_code", "differs", "code_differs", "no_member",
               "not_in_zoho"]
#: Why Anaplan holds a text differently, as the report says it.
WHY: dict[str, str] = {
    "trimmed": " (Anaplan trims names)",
    "named_by_code": " (Anaplan names a member whose name is blank by its code)",
}
#: Notes shown in a failure message (the audit and the task log have them all).
SHOWN = 20


class Sent(NamedTuple):
    """A row of a list flow's import file: its record, code and name (None: no name
    column)."""

    record_id: str
    code: str
    name: str | None


class TextNote(BaseModel):
    """A record whose text did not reach Anaplan exactly: what it sent (``name``), what
    Anaplan holds (``held``: its member's name, ``held_code`` when the code differs; both
    None when Anaplan holds no member with the code) and which case it is."""

    record_id: str
    kind: Kind
    code: str
    name: str | None = None
    held: str | None = None
    held_code: str | None = None

    def describe(self) -> str:
        """The note without the list and record: ``name ' Sales ' is held as 'Sales' (…)``."""
        if self.kind == "not_in_zoho":
            return "Zoho gives no name: sent as ''"
        if self.kind == "no_member":
            return (f"name {self.name!r}: Anaplan holds no member with this code (the row "
                    "was rejected or not created; see the audit)")
        if self.kind == "code_differs":
            return f"code is held as {self.held_code!r}"
        return f"name {self.name!r} is held as {self.held!r}{WHY.get(self.kind, '')}"


class ListCheck(BaseModel):
    """What a list flow's read-back found: the list, the rows compared and the notes."""

    flow: str
    list_id: str
    list_name: str
    code_column: str
    checked: int = 0
    notes: list[TextNote] = Field(default_factory=list)
    #: Codes of the records Zoho marks inactive, each still a member (kept, never deleted).
    inactive: list[str] = Field(default_factory=list)

    def line(self, note: TextNote) -> str:
        """``Departments: Option ID 4600000000123: name ' Sales ' is held as 'Sales' (…)``."""
        return f"{self.list_name}: {self.code_column} {note.code}: {note.describe()}"

    def lines(self) -> list[str]:
        return [self.line(n) for n in self.notes]

    def counts(self) -> dict[str, int]:
        """Rows checked, the notes by kind and the inactive members kept."""
        kept = {"inactive": len(self.inactive)} if self.inactive else {}
        return {"checked": self.checked, **Counter(n.kind for n in self.notes), **kept}

    def by_record(self) -> dict[str, str]:
        """Record id -> its notes, for the audit."""
        found: dict[str, list[str]] = {}
        for note in self.notes:
            found.setdefault(note.record_id, []).append(f"text: {note.describe()}")
        return {record: "; ".join(notes) for record, notes in found.items()}

    def message(self) -> str:
        """The run's failure under ``text: fail``."""
        shown = self.lines()[:SHOWN]
        more = len(self.notes) - len(shown)
        records = len({n.record_id for n in self.notes})
        return (f"flow {self.flow}: {records} record(s) of {self.checked} did not reach "
                f"list {self.list_name} exactly:\n  " + "\n  ".join(shown)
                + (f"\n  and {more} more (see the audit)" if more else ""))


def sent_rows(flow: Flow, header: list[str], rows: Iterable[list[str]],
              members: Iterable[Member]) -> Iterator[Sent]:
    """The code and name of each row of a list flow's import file (``rows`` after its
    ``header``), with the record that fed it (``members``: record grain, row numbers)."""
    code_column, name_column = flow.list_columns
    code_at = header.index(code_column)
    name_at = header.index(name_column) if name_column is not None else None
    record_of = {m.row: m.record_id for m in members}
    for number, row in enumerate(rows, start=1):
        cells = row + [""] * (len(header) - len(row))
        yield Sent(record_of.get(str(number), ""), cells[code_at],
                   cells[name_at] if name_at is not None else None)


#: How Zoho marks an inactive option, location or project on its list row.
INACTIVE = (("is_active", False), ("status", "inactive"))


def copied_field(column: Column | None) -> str | None:
    """The record field a column copies as it is (not a line's, not mapped), else None."""
    if column is None or column.field is None or column.field.startswith("line.") \
            or column.map is not None:
        return None
    return column.field


def record_marks(flow: Flow, records: Iterable[Mapping], held: Iterable[ListItem]
                 ) -> tuple[set[str], list[str]]:
    """One pass over the staged records: the ids of those whose name Zoho did not give
    (missing or null: sent with an empty name), and the codes of those Zoho marks inactive
    that the list still holds (a list import never deletes a member); each when its column
    copies a record field."""
    code_column, name_column = flow.list_columns
    code_field = copied_field(flow.columns[code_column])
    name_field = copied_field(flow.columns[name_column] if name_column is not None else None)
    id_field = flow.record_ids[0][0]
    codes = {item.code or item.name for item in held}
    unnamed: set[str] = set()
    inactive: list[str] = []
    for record in records:
        if name_field is not None and record.get(name_field) is None:
            unnamed.add(str(record.get(id_field)))
        if code_field is not None and str(record.get(code_field)) in codes and any(
                record.get(key) == value for key, value in INACTIVE):
            inactive.append(str(record.get(code_field)))
    return unnamed, sorted(inactive)


def compare_text(sent: Iterable[Sent], held: Iterable[ListItem],
            not_in_zoho: set[str]) -> tuple[int, list[TextNote]]:
    """(rows compared, notes): each sent row against the member Anaplan holds by its code
    (by its code trimmed, when Anaplan trims codes)."""
    by_code = {item.code: item for item in held if item.code is not None}
    notes: list[TextNote] = []
    checked = 0
    for row in sent:
        checked += 1
        if row.record_id in not_in_zoho:
            notes.append(_note(row, "not_in_zoho"))
        member = by_code.get(row.code) or by_code.get(row.code.strip())
        if member is None:
            notes.append(_note(row, "no_member"))
            continue
        if member.code != row.code:
            notes.append(_note(row, "code_differs", held_code=member.code))
        if row.name is None or member.name == row.name:
            continue
        kind: Kind = "differs"
        if row.name.strip() and member.name == row.name.strip():
            kind = "trimmed"
        elif not row.name.strip() and member.name == member.code:
            kind = "named_by_code"
        notes.append(_note(row, kind, held=member.name))
    return checked, notes


def _note(row: Sent, kind: Kind, held: str | None = None,
          held_code: str | None = None) -> TextNote:
    return TextNote(record_id=row.record_id, kind=kind, code=row.code, name=row.name,
                    held=held, held_code=held_code)
