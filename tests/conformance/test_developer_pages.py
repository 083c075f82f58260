"""The developer pages work without internet access: Swagger UI at each service's `/docs` and GraphiQL at the
gateway load only files shipped with the project (pinned, with integrity hashes), and headless Chromium with the
network cut off renders the operation list and the explorer's editor."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from gateway.explorer import GRAPHIQL, GRAPHIQL_DIR
from shared.docs_ui import SWAGGER_UI, SWAGGER_UI_DIR, Asset
from tests.e2e.stack import Stack
from tests.support.apps import serve_asgi
from tests.support.database import TEST_DATA_DIR
from tests.support.tokens import TEST_KEY_PATH

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_INSTALLED = CHROMIUM.exists()
SERVICES = ("referrals", "cases", "outcomes")
# Nothing leaves this machine: every name resolves nowhere, and any connection but to loopback goes to a closed
# local port (a proxy to nowhere).
OFFLINE = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PUBLIC_CDNS = ("unpkg.com", "jsdelivr", "cdnjs", "googleapis")


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


@pytest.mark.parametrize(("assets", "folder"), [(SWAGGER_UI, SWAGGER_UI_DIR), (GRAPHIQL, GRAPHIQL_DIR)])
def test_the_shipped_files_are_the_pinned_releases(assets: tuple[Asset, ...], folder: Path) -> None:
    for asset in assets:
        assert re.fullmatch(r"(@?[a-z-]+/)?[a-z-]+@\d+\.\d+\.\d+", asset.package), asset.package
        assert sri(folder / asset.file) == asset.integrity, f"{asset.file} is not {asset.package} as pinned"
    assert any(p.name.startswith("LICENSE") for p in folder.iterdir()), "the licences ship with the files"


async def dump_dom(url: str) -> str:
    """The page's DOM after its scripts ran, in headless Chromium with the network cut off."""
    if not CHROMIUM_INSTALLED:
        pytest.fail(
            "Debian's chromium is not installed (/usr/bin/chromium), so the pages cannot be rendered: "
            "`make test` installs it (Makefile: CHROMIUM_STAMP), or `apt-get install -y chromium`",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            *OFFLINE,
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()[-2000:]
    return out.decode()


def only_shipped_assets(page: str, base: str, assets: tuple[Asset, ...]) -> None:
    for cdn in PUBLIC_CDNS:
        assert cdn not in page, f"the page still loads from {cdn}"
    assert not re.search(r"""(src|href)=["']https?:""", page), "the page loads something from another host"
    for asset in assets:
        assert f'"{base}/{asset.file}" integrity="{asset.integrity}" crossorigin="anonymous"' in page, asset.file


@pytest.fixture(scope="module")
async def dev_gateway(live: Stack) -> AsyncIterator[str]:
    """A gateway in development mode (GraphiQL and /docs are development pages) over the live services."""
    from gateway.app import create_app
    from gateway.config import Settings

    settings = Settings(
        environment="development",
        dev_key_path=TEST_KEY_PATH,
        data_dir=TEST_DATA_DIR,
        referrals_url=live.urls["referrals"],
        cases_url=live.urls["cases"],
        outcomes_url=live.urls["outcomes"],
    )
    async with serve_asgi(create_app(settings), lifespan="on") as url:
        yield url


async def test_every_service_docs_page_uses_only_the_shipped_swagger_ui(live: Stack) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for service in SERVICES:
            page = await http.get(live.urls[service] + "/docs")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            only_shipped_assets(page.text, "/docs/assets", tuple(SWAGGER_UI))
            for asset in SWAGGER_UI:
                served = await http.get(f"{live.urls[service]}/docs/assets/{asset.file}")
                assert served.status_code == 200
                assert "sha384-" + base64.b64encode(hashlib.sha384(served.content).digest()).decode() == (
                    asset.integrity
                )


async def test_swagger_ui_lists_the_operations_offline(live: Stack) -> None:
    dom = await dump_dom(live.urls["referrals"] + "/docs")
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/v1/referrals/{referral_id}", "/v1/referrals/school", "/v1/webhooks"} <= paths, dom[-3000:]
    assert dom.count('class="opblock opblock-') >= 15
    assert "btn authorize" in dom, "the bearer scheme gives the Authorize button"


async def test_the_gateway_docs_page_renders_offline(dev_gateway: str) -> None:
    dom = await dump_dom(dev_gateway + "/docs")
    assert {"/graphql", "/reports/cohort"} <= set(re.findall(r'data-path="([^"]+)"', dom)), dom[-3000:]


async def test_graphiql_opens_its_editor_offline(dev_gateway: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(dev_gateway + "/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        only_shipped_assets(page.text, "/graphql/assets", tuple(GRAPHIQL))
    dom = await dump_dom(dev_gateway + "/graphql")
    assert "Loading…" not in dom, "the page never got past loading its scripts"
    assert "graphiql-query-editor" in dom and "CodeMirror" in dom, dom[-3000:]
    assert "health" in dom, "the example query is in the editor"


async def test_a_page_that_needs_a_public_cdn_stays_blank_under_the_same_conditions() -> None:
    """The control: FastAPI's own /docs page (Swagger UI from a CDN) renders nothing here, so the checks above
    really ran without the internet."""
    app = FastAPI(title="control")

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    async with serve_asgi(app) as url:
        page = (await httpx.AsyncClient().get(url + "/docs")).text
        assert "cdn.jsdelivr.net" in page
        dom = await dump_dom(url + "/docs")
    assert "data-path=" not in dom and "opblock" not in dom
