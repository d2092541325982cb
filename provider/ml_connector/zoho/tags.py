"""Reporting tags and their options, as one list of rows (the records of module
``tagoptions``), from either of the two tag-list shapes Zoho has been observed to serve
(``../shared/api/zoho-books.md``, "Planning dimensions on documents"; both observed only):
``GET /reportingtags`` with ``/reportingtags/{id}/options/all``, or the older
``GET /settings/tags`` with ``/settings/tags/{id}``. The first is tried first; an
organization that answers it 404 is read through the second."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from ml_connector.errors import ApiError, ProtocolError

#: The scope both shapes need (unknown in the notes; Zoho lists tags under settings).
SCOPE = "settings"
#: The id of the pseudo-option "untagged" that ``options/all`` lists last (observed): not a
#: member of any list (a line without the tag takes its column's ``default``).
UNTAGGED = "untagged"
#: Where a row of ``options/all`` names its parent option (only ``depth`` is observed).
PARENT_FIELDS = ("parent_option_id", "parent_id")


def _rows(body: Any, key: str, url: str) -> list[dict]:
    rows = body.get(key) if isinstance(body, dict) else None
    if isinstance(rows, dict):
        return [rows]
    if not isinstance(rows, list):
        raise ProtocolError(f"tag list response has no {key!r}", service="Zoho Books",
                            method="GET", url=url)
    return [r for r in rows if isinstance(r, dict)]


def tags(client: Any) -> tuple[str, list[dict]]:
    """The organization's reporting tags (``tag_id``, ``tag_name``) and which shape served
    them: ``reportingtags`` or ``settings``."""
    try:
        return "reportingtags", _rows(client.get("/reportingtags", scope=SCOPE), "tags",
                                      "/reportingtags")
    except ApiError as exc:
        if exc.status != 404:
            raise
    return "settings", _rows(client.get("/settings/tags", scope=SCOPE), "reporting_tags",
                             "/settings/tags")


def tag_option_rows(client: Any, only: Collection[str] = ()) -> Iterator[dict]:
    """Every option of every reporting tag (of those named or given by id in ``only``,
    when given), each after its parent: ``tag_id``, ``tag_name``, ``option_id``,
    ``option_name``, ``parent_option_id`` (``""`` at the top), ``depth`` and ``is_active``.
    One request for the tags, one per tag read."""
    shape, found = tags(client)
    for tag in found:
        tag_id, tag_name = str(tag.get("tag_id")), str(tag.get("tag_name"))
        if only and tag_id not in only and tag_name not in only:
            continue
        if shape == "reportingtags":
            url = f"/reportingtags/{tag_id}/options/all"
            for row in _rows(client.get(url, scope=SCOPE), "results", url):
                if str(row.get("option_id")) == UNTAGGED:
                    continue
                parent = next((row[f] for f in PARENT_FIELDS if row.get(f) is not None), "")
                yield {"tag_id": tag_id, "tag_name": tag_name,
                       "option_id": str(row.get("option_id")),
                       "option_name": row.get("option_name"),
                       "parent_option_id": str(parent or ""), "depth": row.get("depth", 0),
                       "is_active": row.get("is_active", True)}
        else:
            url = f"/settings/tags/{tag_id}"
            body = client.get(url, scope=SCOPE)
            detail = body.get("reporting_tag") if isinstance(body, dict) else None
            for row in _rows(detail, "tag_options", url):
                yield {"tag_id": tag_id, "tag_name": tag_name,
                       "option_id": str(row.get("tag_option_id")),
                       "option_name": row.get("tag_option_name"), "parent_option_id": "",
                       "depth": 0, "is_active": True}
