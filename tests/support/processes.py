"""Services run as real processes (uvicorn), for end-to-end and fault tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.logging import UVICORN_LOG_CONFIG
from tests.support.apps import free_port
from tests.support.database import TEST_DATA_DIR, clone_database
from tests.support.tokens import TEST_KEY_PATH


@dataclass
class ServiceProcess:
    """One service run as a real process: `python -m uvicorn module:create_app --factory`."""

    name: str
    app: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        cmd = [
            sys.executable, "-m", "uvicorn", self.app, "--factory", "--host", "127.0.0.1", "--port", str(self.port),
            "--no-access-log", "--log-config", str(UVICORN_LOG_CONFIG), "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; see {self.log_path}")


@dataclass
class ServiceProcesses:
    """A set of real service processes started together and stopped together."""

    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def add(
        self, name: str, app: str, env: Mapping[str, str], log_dir: Path, port: int | None = None
    ) -> ServiceProcess:
        process = ServiceProcess(name, app, port or free_port(), dict(env), log_dir / f"{name}.log")
        self.processes[name] = process
        return process

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    async def start(self, timeout: float = 40.0) -> None:
        for process in self.processes.values():
            process.start()
        await asyncio.gather(*(p.wait_ready(timeout) for p in self.processes.values()))

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()


def common_test_env(prefix: str, database_url: str, port: int) -> dict[str, str]:
    """Environment for a service process in tests, signed by the tests' key."""
    return {
        f"{prefix}_DATABASE_URL": database_url,
        f"{prefix}_PORT": str(port),
        f"{prefix}_ENVIRONMENT": "test",
        f"{prefix}_DEV_KEY_PATH": str(TEST_KEY_PATH),
        f"{prefix}_DATA_DIR": str(TEST_DATA_DIR),
        f"{prefix}_OUTBOX_POLL_INTERVAL": "0.1",
        f"{prefix}_OUTBOX_BACKOFF_BASE": "0.2",
        f"{prefix}_OUTBOX_BACKOFF_MAX": "2",
        f"{prefix}_RATE_LIMIT_PER_SECOND": "0",
    }


@asynccontextmanager
async def referrals_and_cases(
    server_url: str,
    template_name: Callable[[str], str],
    log_dir: Path,
    *,
    subscribed: bool = True,
    timeout: float = 40.0,
) -> AsyncIterator[dict[str, str]]:
    """Referrals and cases as real processes on fresh clones of their template databases; yields their base URLs.

    Referrals asks cases to match people. `subscribed`, each also hears the other as in production (cases hears
    `referral.accepted`, referrals hears `case.opened` and `case.joined`); otherwise referrals sends no events.
    """
    processes = ServiceProcesses()
    async with (
        clone_database(server_url, template_name("referrals")) as referrals_url,
        clone_database(server_url, template_name("cases")) as cases_url,
    ):
        ports = {"referrals": free_port(), "cases": free_port()}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        referrals_to = [{"name": "cases", "url": f"{urls['cases']}/v1/events", "event_types": ["referral.accepted"]}]
        cases_to = [
            {
                "name": "referrals",
                "url": f"{urls['referrals']}/v1/events",
                "event_types": ["case.opened", "case.joined"],
            }
        ]
        referrals_env = {
            **common_test_env("REFERRALS", referrals_url, ports["referrals"]),
            "REFERRALS_CASES_URL": urls["cases"],
            "REFERRALS_SUBSCRIBERS": json.dumps(referrals_to if subscribed else []),
        }
        cases_env = common_test_env("CASES", cases_url, ports["cases"])
        if subscribed:
            cases_env["CASES_SUBSCRIBERS"] = json.dumps(cases_to)
        processes.add("referrals", "referrals.app:create_app", referrals_env, log_dir, port=ports["referrals"])
        processes.add("cases", "cases.app:create_app", cases_env, log_dir, port=ports["cases"])
        try:
            await processes.start(timeout=timeout)
            yield urls
        finally:
            processes.stop()
