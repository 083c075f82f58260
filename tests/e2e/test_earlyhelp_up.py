"""`earlyhelp up` (what `make run` runs): everything reaches ready, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support import TEST_DATA_DIR, free_port

pytestmark = pytest.mark.e2e


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A data directory inside the repository's .data/ (as `make run` uses), removed afterwards.

    Not pytest's tmp_path: when run as root the embedded PostgreSQL runs as its own user, which cannot enter
    pytest's private temporary directories.
    """
    path = TEST_DATA_DIR / f"up-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_up_serves_everything_and_stops_cleanly(data_root: Path) -> None:
    """As on a fresh machine: no DATABASE_URL, so an embedded PostgreSQL is started in the data directory."""
    tmp_path = data_root
    ports = {name: free_port() for name in ("GATEWAY", "REFERRALS", "CASES", "OUTCOMES", "INTELLIGENCE")}
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "EARLYHELP_DATA_DIR": str(tmp_path / "data"),
        **{f"{name}_PORT": str(port) for name, port in ports.items()},
    }
    earlyhelp = Path(sys.executable).with_name("earlyhelp")
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen([str(earlyhelp), "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    children: list[psutil.Process] = []
    try:
        gateway = f"http://127.0.0.1:{ports['GATEWAY']}"

        def printed_ready() -> bool:
            return "Ready." in (tmp_path / "up.log").read_text(errors="replace") or proc.poll() is not None

        assert _wait_for(printed_ready, 240), (tmp_path / "up.log").read_text(errors="replace")
        output = (tmp_path / "up.log").read_text(errors="replace")
        assert proc.poll() is None, output
        assert "not ready" not in output, output
        for name, port in ports.items():
            r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            assert r.status_code == 200, (name, r.text)
        tokens = dict(
            line.split("=", 1) for line in (tmp_path / "data" / "dev-tokens.env").read_text().splitlines() if line
        )
        r = httpx.post(
            f"{gateway}/graphql",
            json={"query": "{ health { service ready } }"},
            headers={"Authorization": f"Bearer {tokens['HUB_MANAGER_TOKEN']}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        health = {h["service"].lower(): h["ready"] for h in r.json()["data"]["health"]}
        assert health == {"referrals": True, "cases": True, "outcomes": True, "intelligence": True}

        # The summary's copy-paste examples work as printed: a school referral, then the triage queue.
        printed = output.split("Try it", 1)[1].split("Ctrl-C", 1)[0]
        lines = [line.strip() for line in printed.splitlines()[1:] if line.strip()]
        assert lines[0].startswith("source ") and len(lines) == 3, printed
        submitted = subprocess.run(
            ["bash", "-c", f"{lines[0]} && {lines[1]}"], capture_output=True, text=True, timeout=30
        )
        referral = json.loads(submitted.stdout)
        assert referral["status"] == "received" and referral["kind"] == "school", submitted.stdout
        queue = subprocess.run(["bash", "-c", f"{lines[0]} && {lines[2]}"], capture_output=True, text=True, timeout=30)
        edges = json.loads(queue.stdout)["data"]["triageQueue"]["edges"]
        assert edges and all(e["node"]["status"] in ("RECEIVED", "SCREENING") for e in edges), queue.stdout

        # The demo data was loaded on first start.
        r = httpx.get(
            f"http://127.0.0.1:{ports['REFERRALS']}/v1/referrals",
            headers={"Authorization": f"Bearer {tokens['ADMIN_TOKEN']}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["items"], r.text

        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 5
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert _wait_for(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 20)
        assert "stopped: every process" in (tmp_path / "up.log").read_text(errors="replace")
        postgres = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
        assert postgres == [], "the embedded PostgreSQL was left running"
    finally:
        # only what this `earlyhelp up` started: other tests of this worker run services of their own
        if proc.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                children = children or psutil.Process(proc.pid).children(recursive=True)
            proc.kill()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
