"""ASGI entry point for uvicorn/gunicorn: ``service.asgi:app`` (settings from the environment)."""

from __future__ import annotations

from service.app import create_app, tune_gc

app = create_app()
tune_gc()
