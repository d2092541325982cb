# Airflow image with ml-connector installed: used by every Airflow service in
# docker-compose.yml (api-server, scheduler, dag-processor, triggerer, worker, init).
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}
COPY --chown=airflow:root pyproject.toml README.md /opt/ml-connector/
COPY --chown=airflow:root provider /opt/ml-connector/provider
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" "/opt/ml-connector[postgres]"
