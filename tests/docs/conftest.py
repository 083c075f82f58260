"""One real `earlyhelp up` stack (embedded PostgreSQL, demo data, four processes) shared by the docs tests.

The guides address the development ports (8000–8004) and `.data/dev-tokens.env`; the stack runs on free ports
in a temporary data directory, so `Stack.localise` rewrites those addresses and commands run in a working
directory whose `.data`, `examples`, `docs` and `.venv` point at the stack's data and the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.support import free_port

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # the helper module beside this file (tests run with --import-mode=importlib)
    sys.path.insert(0, HERE)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PORTS = {"GATEWAY": 8000, "REFERRALS": 8001, "CASES": 8002, "OUTCOMES": 8003, "INTELLIGENCE": 8004}


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    data_dir: Path
    workdir: Path
    log: Path

    def url(self, part: str) -> str:
        return f"http://127.0.0.1:{self.ports[part.upper()]}"

    @property
    def tokens(self) -> dict[str, str]:
        lines = (self.data_dir / "dev-tokens.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def localise(self, text: str) -> str:
        """The development addresses in a guide, pointed at this stack's ports."""
        for name, port in DEFAULT_PORTS.items():
            text = re.sub(rf"(127\.0\.0\.1|localhost):{port}\b", f"127.0.0.1:{self.ports[name]}", text)
        return text

    def child(self, part: str) -> psutil.Process:
        """The uvicorn process serving `part` (started by this stack's `earlyhelp up`)."""
        for p in psutil.Process(self.proc.pid).children(recursive=True):
            if f"{part}.app:create_app" in " ".join(p.cmdline()):
                return p
        raise LookupError(part)


def _wait_ready(log: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ready." in text or proc.poll() is not None:
            return text
        time.sleep(0.3)
    return log.read_text(errors="replace")


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    # Not under pytest's tmp_path: as root, pgserver runs PostgreSQL as its own user, which cannot enter the
    # private /tmp/pytest-of-root; a world-traversable directory of our own works for both.
    root = Path(tempfile.mkdtemp(prefix="earlyhelp-docs-"))
    root.chmod(0o755)
    ports = {name: free_port() for name in DEFAULT_PORTS}
    data_dir = root / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"EARLYHELP_DATA_DIR": str(data_dir), **{f"{n}_PORT": str(p) for n, p in ports.items()}}
    log = root / "up.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("earlyhelp")), "up"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    workdir = root / "work"
    workdir.mkdir()
    (workdir / ".data").symlink_to(data_dir)
    for name in ("examples", "docs", ".venv"):
        (workdir / name).symlink_to(REPO / name)
    try:
        output = _wait_ready(log, proc, 240)
        assert proc.poll() is None and "Ready." in output and "not ready" not in output, output
        yield Stack(proc=proc, ports=ports, data_dir=data_dir, workdir=workdir, log=log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
