"""Turning Zoho records into Anaplan import files (no Airflow imports)."""
