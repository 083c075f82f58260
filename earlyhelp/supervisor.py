"""Runs the platform's processes, reports any that die, and stops every one of them on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

console = Console(stderr=False, highlight=False, soft_wrap=True)


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    url: str
    proc: subprocess.Popen[bytes] | None = None
    reported_dead: bool = False

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.cmd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop the children in order
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Supervisor:
    children: list[Child] = field(default_factory=list)

    def start_all(self) -> None:
        for child in self.children:
            child.start()

    def wait_ready(self, timeout: float = 180.0) -> list[str]:
        """Wait until every child answers /readyz; return the names that did not."""
        pending = {c.name: c for c in self.children}
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while pending and time.monotonic() < deadline:
                for name, child in list(pending.items()):
                    if not child.alive():
                        pending.pop(name)
                        continue
                    try:
                        if client.get(f"{child.url}/readyz").status_code == 200:
                            pending.pop(name)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.2)
        return [c.name for c in self.children if not c.alive()] + list(pending)

    def watch(self) -> None:
        """Block until interrupted; report loudly any child that dies, keep the others serving."""
        stop = {"flag": False}

        def _stop(signum: int, _frame: object) -> None:
            stop["flag"] = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGHUP, _stop)
        while not stop["flag"]:
            for child in self.children:
                if not child.alive() and not child.reported_dead:
                    child.reported_dead = True
                    code = child.proc.returncode if child.proc else None
                    console.print(
                        f"\n[bold white on red] {child.name} DIED (exit code {code}) [/] "
                        f"the other processes keep serving. Last lines of {child.log_path}:"
                    )
                    console.print(child.tail(), markup=False)
            time.sleep(0.5)

    def stop_all(self, grace: float = 10.0) -> None:
        for child in self.children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.signal(signal.SIGKILL)
                child.proc.wait(timeout=5)


FATAL_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)


def _caught_signals(pid: int) -> int | None:
    """The mask of signals `pid` has handlers for (Linux `/proc/<pid>/status` SigCgt); None where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError):
        return None
    return None


def stop_with_parent(interval: float = 0.5) -> threading.Thread:
    """Send ourselves SIGTERM (a clean stop) once the process that started us stops or starts stopping.

    `make run` is what a process supervisor starts and signals, but GNU make passes on only SIGTERM to its
    recipe; on SIGINT or SIGHUP it resets that signal's handler to the default and waits for its recipe to end,
    which would be never. So we watch make: it has gone (our parent changed), or it no longer catches a fatal
    signal it caught when we started (it is handling that signal), and then we stop as on Ctrl-C.
    """
    parent = os.getppid()
    caught = _caught_signals(parent)
    watched = 0 if caught is None else caught & sum(1 << (int(s) - 1) for s in FATAL_SIGNALS)

    def watch() -> None:
        while True:
            time.sleep(interval)
            now = _caught_signals(parent) if watched else None
            if os.getppid() != parent or (now is not None and watched & ~now):
                os.kill(os.getpid(), signal.SIGTERM)
                return

    thread = threading.Thread(target=watch, name="stop-with-parent", daemon=True)
    thread.start()
    return thread


def uvicorn_cmd(app: str, port: int) -> list[str]:
    """As the images run it: every line JSON (uvicorn's own too), requests logged by the app, not by uvicorn."""
    from shared.logging import UVICORN_LOG_CONFIG

    return [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-config", str(UVICORN_LOG_CONFIG), "--timeout-graceful-shutdown", "8",
    ]  # fmt: skip
