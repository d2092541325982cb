"""Local emulators of the Zoho Books and Anaplan APIs, served over real HTTP on loopback.

``ml_connector_sandbox.server.run_sandbox`` starts both behind one uvicorn server; each API
lives under its own path prefix (``/zoho/...`` and ``/anaplan/...``) and the shared admin
API under ``/_sandbox/...``.
"""
