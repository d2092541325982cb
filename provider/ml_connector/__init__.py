"""ml-connector: an Apache Airflow provider that loads Zoho Books actuals into Anaplan."""

__version__ = "0.1.0"
