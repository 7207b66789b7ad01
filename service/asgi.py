"""ASGI entry point for uvicorn/gunicorn: ``service.asgi:app`` (settings from the environment)."""

from __future__ import annotations

from service.app import create_app, tune_gc
from service.logs import configure_logging
from service.worker_process import exit_with_parent_process

configure_logging("INFO")  # one line per record, library noise at debug level (service/logs.py)
app = create_app()
tune_gc()
exit_with_parent_process()  # an HTTP worker of `edoc serve --workers N` stops when the gateway process is gone
