"""Serve the test PKI's OCSP responder, CRLs, certificates and RFC 3161 TSA on 127.0.0.1 from a thread.

The socket is bound (on a random free port) *before* the certificates are issued, so the AIA and CRL
distribution point URLs inside them can name the real port.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["LocalHttpServer"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are not logged: test output stays readable."""


class LocalHttpServer:
    """A threaded WSGI server whose application can be attached after the port is known."""

    def __init__(self) -> None:
        self._app: WsgiApp | None = None
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._dispatch, threaded=True, request_handler=_QuietHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def attach(self, app: WsgiApp) -> None:
        self._app = app

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-pki-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"test PKI not attached yet"]
        return self._app(environ, start_response)
