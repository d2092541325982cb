"""Zoho Books API client (no Airflow imports)."""

from ml_connector.zoho.auth import ZohoCredentials, ZohoTokenManager
from ml_connector.zoho.client import ZohoBooksClient, ZohoConfig
from ml_connector.zoho.entities import ENTITIES, get_entity
from ml_connector.zoho.extract import ExtractManifest, ExtractWindow, extract_to, iter_window
from ml_connector.zoho.regions import DATACENTERS, REGIONS, DataCenter, resolve_region

__all__ = [
    "DATACENTERS",
    "ENTITIES",
    "REGIONS",
    "DataCenter",
    "ExtractManifest",
    "ExtractWindow",
    "ZohoBooksClient",
    "ZohoConfig",
    "ZohoCredentials",
    "ZohoTokenManager",
    "extract_to",
    "get_entity",
    "iter_window",
    "resolve_region",
]
