"""`make run` stops everything when only the `make` process is signalled, as a process supervisor does: GNU make
passes SIGTERM on to its recipe but on SIGINT (or SIGHUP) waits for the recipe to end, so `earlyhelp up
--stop-with-parent` watches make and stops itself, its services and the embedded PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support import TEST_DATA_DIR, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_root() -> Iterator[Path]:
    path = TEST_DATA_DIR / f"make-run-{uuid.uuid4().hex[:8]}"  # inside .data/: the embedded PostgreSQL's user enters it
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _ours(root: Path) -> list[psutil.Process]:
    """Processes whose command line names our data directory (the embedded PostgreSQL)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if str(root) in " ".join(p.info["cmdline"] or []):
                found.append(p)
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_make_alone_stops_every_process(data_root: Path, sig: signal.Signals) -> None:
    ports = {name: free_port() for name in ("GATEWAY", "REFERRALS", "CASES", "OUTCOMES", "INTELLIGENCE")}
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MAKEFLAGS", "MAKELEVEL")}
    env |= {"EARLYHELP_DATA_DIR": str(data_root / "data"), **{f"{n}_PORT": str(p) for n, p in ports.items()}}
    log_path = data_root / "run.log"
    with log_path.open("wb") as log:
        # its own session, as under a supervisor: the signal reaches make only, never a process group
        make = subprocess.Popen(["make", "--no-print-directory", "run", "RUN_ARGS=--no-seed"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and make.poll() is None:
            if "Ctrl-C stops" in log_path.read_text(errors="replace"):
                break
            time.sleep(0.5)
        output = log_path.read_text(errors="replace")
        assert make.poll() is None and "Ctrl-C stops" in output, output
        started = psutil.Process(make.pid).children(recursive=True) + _ours(data_root)
        assert len(started) >= 7, started  # earlyhelp up, five services, PostgreSQL
        make.send_signal(sig)
        make.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                                  for p in started):  # fmt: skip
            time.sleep(0.5)
        left = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert left == [], left
        assert "stopped: every process" in log_path.read_text(errors="replace")
    finally:
        if make.poll() is None:
            make.kill()
        for p in started:  # only what this `make run` started
            with contextlib.suppress(psutil.Error):
                p.kill()
