"""`earlyhelp up` (what `make run` runs): everything reaches ready, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from shared.testing import free_port

pytestmark = pytest.mark.e2e


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_up_serves_everything_and_stops_cleanly(tmp_path: Path) -> None:
    """As on a fresh machine: no DATABASE_URL, so an embedded PostgreSQL is started in the data directory."""
    ports = {name: free_port() for name in ("GATEWAY", "REFERRALS", "CASES", "OUTCOMES")}
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "EARLYHELP_DATA_DIR": str(tmp_path / "data"),
        **{f"{name}_PORT": str(port) for name, port in ports.items()},
    }
    earlyhelp = Path(sys.executable).with_name("earlyhelp")
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen([str(earlyhelp), "up"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        gateway = f"http://127.0.0.1:{ports['GATEWAY']}"

        def printed_ready() -> bool:
            return "Ready." in (tmp_path / "up.log").read_text(errors="replace") or proc.poll() is not None

        assert _wait_for(printed_ready, 120), (tmp_path / "up.log").read_text(errors="replace")
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
        health = {h["service"]: h["ready"] for h in r.json()["data"]["health"]}
        assert health == {"referrals": True, "cases": True, "outcomes": True}

        # The demo data was loaded on first start.
        r = httpx.get(
            f"http://127.0.0.1:{ports['REFERRALS']}/v1/referrals",
            headers={"Authorization": f"Bearer {tokens['ADMIN_TOKEN']}"},
            timeout=10,
        )
        assert r.status_code == 200 and r.json()["items"], r.text

        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 4
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert _wait_for(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 20)
        assert "stopped: every process" in (tmp_path / "up.log").read_text(errors="replace")
        postgres = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
        assert postgres == [], "the embedded PostgreSQL was left running"
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in psutil.Process().children(recursive=True):
            if child.pid != proc.pid and "uvicorn" in " ".join(child.cmdline()):
                child.kill()
