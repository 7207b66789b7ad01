"""The API's interactive documentation, ``/docs`` (Swagger UI), served whole by the gateway.

Government networks often have no Internet access (issue 16 item 9). FastAPI's own page loads Swagger UI from a
CDN and stays blank there. The assets come instead from the ``fastapi-offline`` package, which ships a current
build of Swagger UI (Apache-2.0; 5.x, which reads the OpenAPI 3.1 documents FastAPI writes) as plain files; they are
served under ``/docs/assets`` and the page names nothing else. The page carries a Content-Security-Policy that
allows only this origin: no inline script or style (Swagger UI is started by ``/docs/init.js``), no other host.

There is no ``/redoc``: ReDoc's build always fetches its logo from its vendor's CDN, which such a policy refuses
and an offline network cannot serve; one documentation page is enough.
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "DOCS_CSP", "install_docs"]

ASSETS = "/docs/assets"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Starts Swagger UI with the options FastAPI's page uses, the document's URL read from the page (no inline script).
_INIT = """window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def _assets_folder() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def _headers(csp: str) -> dict[str, str]:
    return {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _page(title: str, root: str, head: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" type="image/png" href="{root}{ASSETS}/favicon.png">{head}</head>'
        f"<body>{body}</body></html>"
    )


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/docs/init.js`` and the assets; ``app`` must be made with ``docs_url=None`` (and
    ``redoc_url=None``: see the module docstring)."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} API"
    app.mount(ASSETS, StaticFiles(directory=_assets_folder()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", "").rstrip("/"))
        head = f'<link rel="stylesheet" href="{root}{ASSETS}/swagger-ui.css">'
        body = (
            f'<div id="swagger-ui" data-openapi="{root}{openapi_url}"></div>'
            f'<script src="{root}{ASSETS}/swagger-ui-bundle.js"></script><script src="{root}/docs/init.js"></script>'
        )
        return HTMLResponse(_page(title, root, head, body), headers=_headers(DOCS_CSP))

    @app.get("/docs/init.js", include_in_schema=False)
    async def swagger_ui_init() -> Response:
        return Response(_INIT, media_type="text/javascript", headers={"X-Content-Type-Options": "nosniff"})
