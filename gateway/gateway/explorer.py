"""The developer pages of the gateway without internet access: GraphiQL at `GET /graphql` and Swagger UI at `/docs`
(both only in development, as before), their scripts and styles served from the files shipped in this package.

`static/graphiql/` holds, byte for byte, the npm releases named in `GRAPHIQL` (React 18's UMD builds and
GraphiQL 3's, the last with a UMD build); the page loads them with Subresource Integrity. To upgrade: `npm pack`
the new versions, copy the same files, and update the versions and hashes here
(`openssl dgst -sha384 -binary FILE | base64`); `tests/conformance/test_developer_pages.py` checks both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from strawberry.fastapi import GraphQLRouter

from shared.docs_ui import Asset, install_docs_ui

GRAPHIQL_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
GRAPHIQL_ASSETS = "/graphql/assets"
GRAPHIQL: Sequence[Asset] = (
    Asset(
        "graphiql.min.css",
        "graphiql@3.8.3",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    Asset(
        "react.production.min.js",
        "react@18.2.0",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    Asset(
        "react-dom.production.min.js",
        "react-dom@18.2.0",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    Asset(
        "graphiql.min.js",
        "graphiql@3.8.3",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
)
EXAMPLE = """# The Early Help Platform graph. Most fields need a token: under Headers, put
#   {"Authorization": "Bearer <token>"}
{
  health {
    service
    ready
  }
}
"""


def install_developer_pages(app: FastAPI, graphql: GraphQLRouter[Any, Any]) -> None:
    """GraphiQL (when the router serves an IDE) and Swagger UI (when the app has `/docs`) from shipped files."""
    install_docs_ui(app)
    if not graphql.graphql_ide:
        return
    app.mount(GRAPHIQL_ASSETS, StaticFiles(directory=GRAPHIQL_DIR), name="graphiql-assets")

    async def render_graphql_ide(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return HTMLResponse(graphiql_page(f"{root}{GRAPHIQL_ASSETS}"))

    graphql.render_graphql_ide = render_graphql_ide  # type: ignore[method-assign]


def graphiql_page(assets: str) -> str:
    tags = "\n".join(asset.tag(assets) for asset in GRAPHIQL)
    example = json.dumps(EXAMPLE).replace("</", "<\\/")  # a JS string that cannot end the script
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Early Help Platform — GraphiQL</title>
<style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
{tags}
</head>
<body>
<div id="graphiql">Loading…</div>
<script>
const url = window.location.origin + window.location.pathname;
const fetcher = GraphiQL.createFetcher({{ url }});
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {{
    fetcher,
    defaultQuery: {example},
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
  }}),
);
</script>
</body>
</html>
"""
