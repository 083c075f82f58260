"""Services run as real processes (uvicorn), for end-to-end and fault tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
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


EnvOf = Callable[[dict[str, str]], Mapping[str, str]]
"""The extra environment of a set of services, from their base URLs (`{"INTELLIGENCE_OUTCOMES_URL": urls[...]}`):
each variable goes to the service its prefix names."""


@asynccontextmanager
async def services_up(
    server_url: str,
    template_name: Callable[[str], str],
    log_dir: Path,
    names: Sequence[str],
    env: EnvOf | None = None,
    *,
    timeout: float = 40.0,
) -> AsyncIterator[dict[str, str]]:
    """The named services (`"referrals"`, `"cases"`, `"outcomes"`, `"intelligence"`) as real processes, each on a
    fresh clone of its template database and a free port, with the test environment (`common_test_env`) and what
    `env` adds; yields their base URLs by name and stops them all afterwards."""
    ports = {name: free_port() for name in names}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    extra = dict(env(urls)) if env is not None else {}
    processes = ServiceProcesses()
    async with AsyncExitStack() as stack:
        for name in names:
            prefix = name.upper()
            database = await stack.enter_async_context(clone_database(server_url, template_name(name)))
            own = {key: value for key, value in extra.items() if key.startswith(f"{prefix}_")}
            process_env = common_test_env(prefix, database, ports[name]) | own
            processes.add(name, f"{name}.app:create_app", process_env, log_dir, port=ports[name])
        try:
            await processes.start(timeout=timeout)
            yield urls
        finally:
            processes.stop()


def referrals_and_cases(
    server_url: str,
    template_name: Callable[[str], str],
    log_dir: Path,
    *,
    subscribed: bool = True,
    timeout: float = 40.0,
) -> AbstractAsyncContextManager[dict[str, str]]:
    """Referrals and cases as real processes (`services_up`); yields their base URLs.

    Referrals asks cases to match people. `subscribed`, each also hears the other as in production (cases hears
    `referral.accepted`, referrals hears `case.opened` and `case.joined`); otherwise referrals sends no events.
    """

    def env(urls: dict[str, str]) -> dict[str, str]:
        referrals_to = [{"name": "cases", "url": f"{urls['cases']}/v1/events", "event_types": ["referral.accepted"]}]
        heard = ["case.opened", "case.joined"]
        cases_to = [{"name": "referrals", "url": f"{urls['referrals']}/v1/events", "event_types": heard}]
        out = {
            "REFERRALS_CASES_URL": urls["cases"],
            "REFERRALS_SUBSCRIBERS": json.dumps(referrals_to if subscribed else []),
        }
        if subscribed:
            out["CASES_SUBSCRIBERS"] = json.dumps(cases_to)
        return out

    return services_up(server_url, template_name, log_dir, ("referrals", "cases"), env, timeout=timeout)
