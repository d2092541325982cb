"""The "Month-end" page of the Airflow UI: every flow's run of a month, and the month's
plan-vs-actual alignments, read from the state store (``view``), drawn (``chart``,
``page``) and served by an Airflow plugin (``app``, ``plugin``)."""
