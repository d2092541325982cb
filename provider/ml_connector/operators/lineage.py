"""OpenLineage datasets of the operators, reported when Airflow's OpenLineage provider is
installed (``pip install 'ml-connector[openlineage]'``): a Zoho extract reads
``zoho-books://<region>/<organization>`` ``<module>`` and writes its staged file; an import
reads the staged file and writes ``anaplan://<workspace>`` ``<model>/<import>``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def zoho_dataset(region: str, organization_id: str | None, entity: str) -> tuple[str, str]:
    return f"zoho-books://{region}/{organization_id or 'default'}", entity


def anaplan_dataset(workspace_id: str, model_id: str, action: str) -> tuple[str, str]:
    return f"anaplan://{workspace_id}", f"{model_id}/{action}"


def file_dataset(url: str) -> tuple[str, str]:
    """A staged file as OpenLineage names files (and Airflow's provider names the staged
    files it sees): namespace ``file`` and the path for a local one, else
    ``scheme://bucket`` and the key."""
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        return "file", parts.path or url
    return f"{parts.scheme}://{parts.netloc}", parts.path


def operator_lineage(inputs: list[tuple[str, str]], outputs: list[tuple[str, str]]) -> Any:
    """``OperatorLineage`` of these (namespace, name) pairs."""
    from airflow.providers.common.compat.openlineage.facet import Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=[Dataset(namespace=n, name=m) for n, m in inputs],
                           outputs=[Dataset(namespace=n, name=m) for n, m in outputs])
