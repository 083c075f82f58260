"""The cost of the request path around a handler: a service's whole middleware stack against a bare FastAPI app.

Both apps serve the same trivial authenticated route (`GET /v1/_probe/{item}`, the principal as a dependency) and
are called straight through ASGI in one process, no socket and no database: what is left is the middleware, the
routing and the dependency. Prints CPU microseconds per request for each (alternating rounds, the median), and with
`--profile out.txt` runs py-spy over the stack's loop and prints its top frames (bench/_profile.py).

    .venv/bin/python bench/_middleware_profile.py [--requests 20000] [--rounds 5] [--profile /tmp/mw.raw]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402

from shared.auth import CurrentPrincipal  # noqa: E402
from shared.logging import configure_logging  # noqa: E402
from shared.service import build_verifier  # noqa: E402
from tests.support.database import TEST_DATA_DIR  # noqa: E402
from tests.support.tokens import TEST_KEY_PATH, make_token  # noqa: E402


def probe_route(app: FastAPI) -> None:
    @app.get("/v1/_probe/{item}")
    async def probe(item: str, principal: CurrentPrincipal) -> dict[str, str]:
        return {"item": item, "sub": principal.sub}


def service_app() -> FastAPI:
    from referrals.app import create_app
    from referrals.config import Settings

    settings = Settings(
        database_url="postgresql://unused@/unused",
        environment="test",
        dev_key_path=TEST_KEY_PATH,
        data_dir=TEST_DATA_DIR,
        relay_enabled=False,
        rate_limit_per_second=1e9,
        rate_limit_burst=10**9,
    )
    app = create_app(settings)
    app.state.verifier = build_verifier(settings)
    probe_route(app)
    return app


def bare_app() -> FastAPI:
    from referrals.config import Settings

    settings = Settings(database_url="postgresql://unused@/unused", environment="test", dev_key_path=TEST_KEY_PATH)
    app = FastAPI()
    app.state.verifier = build_verifier(settings)
    probe_route(app)
    return app


async def drive(app: Any, token: str, n: int) -> float:
    """CPU seconds per request over `n` requests."""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]
    body_message = {"type": "http.request", "body": b"", "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return body_message

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for i in range(n):
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": f"/v1/_probe/{i}", "raw_path": f"/v1/_probe/{i}".encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000), "server": ("bench", 80), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)
    elapsed = time.process_time() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / n


async def main_async(args: argparse.Namespace) -> None:
    token = make_token("partner_system", agency="SCH-BENCH", agency_type="school")
    apps = {"service stack": service_app(), "bare FastAPI": bare_app()}
    for app in apps.values():
        await drive(app, token, 500)  # warm: routes compiled, token verified and cached
    gc.collect()
    gc.freeze()  # as the service does after startup
    if args.profile:
        await drive(apps["service stack"], token, args.requests)
        return
    results: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.rounds):
        for name, app in apps.items():
            results[name].append(await drive(app, token, args.requests))
    stack, bare = (statistics.median(results[n]) * 1e6 for n in apps)
    print(
        f"service stack {stack:7.1f} us/req   bare FastAPI {bare:7.1f} us/req   difference {stack - bare:7.1f} us/req"
        f"  (CPU, median of {args.rounds} rounds of {args.requests}; log level {args.log_level})",
        file=sys.__stdout__,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-level", default="INFO", help="INFO writes the access line, as services do by default")
    parser.add_argument("--profile", type=Path, help="record py-spy (raw) of the service stack's loop here")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile and not args.inner:
        spy = str(Path(sys.executable).parent / "py-spy")
        cmd = [spy, "record", "--format", "raw", "--rate", "500", "--output", str(args.profile), "--",
               sys.executable, __file__, "--inner", "--profile", str(args.profile), "--requests", str(args.requests),
               "--log-level", args.log_level]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        print(subprocess.run([sys.executable, str(ROOT / "bench" / "_profile.py"), str(args.profile)],
                             capture_output=True, text=True, check=True).stdout)  # fmt: skip
        return
    # as a service logs: JSON lines to stdout (here /dev/null, so rendering is paid and nothing is printed)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    configure_logging("referrals", args.log_level)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
