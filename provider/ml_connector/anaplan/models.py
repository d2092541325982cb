"""Anaplan's resources as ``AnaplanClient`` returns them: pydantic models that validate the
Integration API's JSON as is (camelCase keys; unknown keys are ignored; numeric ids are
taken as text). Modelled on the open-source anaplan-sdk (``anaplan_sdk/models``), with ids
kept as the 12-digit text the API's paths use."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel


class AnaplanModel(BaseModel):
    """Base of the resource models: read-only, camelCase aliases, extra keys ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              coerce_numbers_to_str=True, frozen=True, protected_namespaces=())


class Resource(AnaplanModel):
    """Anything listed with an id and a name."""

    id: str
    name: str


class ModelInfo(Resource):
    """A model of ``GET /workspaces/{ws}/models``."""

    active_state: str | None = None  # ARCHIVED, UNLOCKED, ACTIVE, PRODUCTION, ...: any text
    current_workspace_id: str | None = None
    current_workspace_name: str | None = None
    model_url: str | None = None


class File(Resource):
    """A model file (``113…``): a data source an import reads, or an export's output."""

    chunk_count: int = 0
    delimiter: str | None = None
    encoding: str | None = None
    first_data_row: int | None = None
    format: str | None = None
    header_row: int | None = None
    separator: str | None = None


class Chunk(AnaplanModel):
    """One chunk of a file or a failure dump (``id`` counts from ``"0"``)."""

    id: str
    name: str | None = None


class Import(Resource):
    """An import (``112…``) of ``GET /imports``."""

    import_data_source_id: str | None = None  # the file it reads; None: it reads none
    import_type: str | None = None  # MODULE_DATA, HIERARCHY_DATA, LINE_ITEM_DEFINITION, ...

    @field_validator("import_data_source_id", mode="before")
    @classmethod
    def _no_source(cls, value: object) -> object:
        return value if value not in ("", None) else None


class Export(Resource):
    """An export (``116…``) of ``GET /exports``; a task of it writes the file of its id."""

    export_type: str | None = None
    export_format: str | None = None
    encoding: str | None = None
    layout: str | None = None


class Process(Resource):
    """A process (``118…``) of ``GET /processes``; the listing does not say what it runs
    (``ProcessMetadata`` does; ``AnaplanClient.find_action`` resolves its imports)."""


class ProcessStep(AnaplanModel):
    """An action a process runs, in order: an import, an export or another action."""

    id: str = Field(validation_alias=AliasChoices("id", "actionId"))
    name: str | None = None
    action_type: str | None = None


class ProcessMetadata(AnaplanModel):
    """``GET /processes/{id}``: its name and actions in the order it runs them."""

    name: str | None = None
    actions: list[ProcessStep] = Field(default_factory=list)

    @field_validator("actions", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class ImportSource(AnaplanModel):
    """The file an import expects: its ``header_names`` are the column contract."""

    text_encoding: str | None = None
    column_separator: str | None = None
    text_delimiter: str | None = None
    header_row: int | None = None
    first_data_row: int | None = None
    decimal_separator: str | None = None
    header_names: list[str] | None = None
    column_count: int | None = None


class ImportMetadata(AnaplanModel):
    """``GET /imports/{id}``."""

    name: str | None = None
    type: str | None = None  # FILE, ...
    source: ImportSource | None = None


class ExportMetadata(AnaplanModel):
    """``GET /exports/{id}``: the columns of the file an export writes."""

    column_count: int | None = None
    data_types: list[str] | None = None
    delimiter: str | None = None
    encoding: str | None = None
    export_format: str | None = None
    header_names: list[str] | None = None
    list_names: list[str] | None = None
    row_count: int | None = None
    separator: str | None = None


class ListInfo(Resource):
    """A list (dimension) of ``GET /lists``."""


class ListItem(Resource):
    """A member of a list (``GET /lists/{id}/items``; ``includeAll=true`` adds properties
    and parents; the exact JSON varies, so all but id and name are optional)."""

    code: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    subsets: dict[str, Any] = Field(default_factory=dict)
    parent: str | None = None
    parent_id: str | None = None

    @field_validator("properties", "subsets", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return {} if value is None else value


class Action(Resource):
    """An import or a process resolved by ``AnaplanClient.find_action``: ``steps`` are the
    imports it runs, in order (an import is its own one step; a process's other actions,
    such as exports, are left out)."""

    kind: Literal["import", "process"]
    steps: list[Import]
