"""Observability: Prometheus metrics (``/metrics``), request identity and W3C trace context for the logs and the
uplink calls. The log formats themselves are :mod:`service.logs`; docs/configuration.md lists the settings."""
