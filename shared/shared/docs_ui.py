"""Swagger UI at `/docs` from the assets shipped in this package, so the page works without internet access.

The files in `static/swagger-ui/` are copied byte for byte from the npm package named in `SWAGGER_UI`; the page
loads them with Subresource Integrity, so a browser refuses a file that differs from the pinned release
(`tests/conformance/test_developer_pages.py` checks the hashes against the files and renders the page in headless
Chromium with the network cut off). To upgrade: `npm pack swagger-ui-dist@<version>`, copy `swagger-ui-bundle.js`,
`swagger-ui.css` and the licence files, and update the versions and hashes here
(`openssl dgst -sha384 -binary FILE | base64`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Asset:
    """One shipped file: where it came from (npm `name@version`) and its SRI hash."""

    file: str
    package: str
    integrity: str

    def tag(self, base: str) -> str:
        url = html.escape(f"{base}/{self.file}")
        integrity = f'integrity="{self.integrity}" crossorigin="anonymous"'
        if self.file.endswith(".css"):
            return f'<link rel="stylesheet" href="{url}" {integrity}>'
        return f'<script src="{url}" {integrity}></script>'


SWAGGER_UI_DIR = STATIC / "swagger-ui"
SWAGGER_UI: Sequence[Asset] = (
    Asset(
        "swagger-ui.css",
        "swagger-ui-dist@5.35.0",
        "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
    ),
    Asset(
        "swagger-ui-bundle.js",
        "swagger-ui-dist@5.35.0",
        "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
    ),
)


def install_docs_ui(app: FastAPI) -> None:
    """Serve the app's `docs_url` (when it has one) with the shipped Swagger UI instead of FastAPI's CDN page."""
    if not app.docs_url:
        return
    docs_url = app.docs_url
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != docs_url]
    app.mount(f"{docs_url}/assets", StaticFiles(directory=SWAGGER_UI_DIR), name="swagger-ui-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(swagger_ui_page(app.title, f"{root}{app.openapi_url}", f"{root}{docs_url}/assets"))

    app.add_route(docs_url, swagger_ui, include_in_schema=False)


def swagger_ui_page(title: str, openapi_url: str, assets: str) -> str:
    config = {
        "url": openapi_url,
        "dom_id": "#swagger-ui",
        "layout": "BaseLayout",
        "deepLinking": True,
        "persistAuthorization": True,
        "showExtensions": True,
    }
    # `</` cannot end the script early inside a JSON string
    options = json.dumps(config).replace("</", "<\\/")
    tags = "\n".join(asset.tag(assets) for asset in SWAGGER_UI)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — API</title>
{tags}
</head>
<body>
<div id="swagger-ui"></div>
<script>
window.ui = SwaggerUIBundle(Object.assign({options}, {{
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}}));
</script>
</body>
</html>
"""
