"""Waking background workers with PostgreSQL LISTEN/NOTIFY instead of frequent polls.

A writer notifies a channel in the transaction that stores the work (`pg_notify`, delivered at commit); each worker
holds one connection that LISTENs on it (`listen`) and sleeps until notified or until its safety-net poll is due
(`wait_any`). An idle process then spends next to no CPU, and work is picked up as soon as it commits. The poll
covers a notification missed while the listener reconnects (`listen` also wakes the worker on each (re)connect).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from shared.db import plain_url


async def listen(database_url: str, channel: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Until `stop` is set, hold a connection that LISTENs on `channel` and sets `wake` on each notification;
    reconnect when it drops, and set `wake` on each (re)connect for whatever was notified while no one listened."""
    while not stop.is_set():
        try:
            conn = await asyncpg.connect(plain_url(database_url), timeout=5)
        except Exception:
            await wait_any(2.0, stop)
            continue
        try:
            await _hold(conn, channel, wake, stop)
        except Exception:
            await wait_any(1.0, stop)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)


async def _hold(conn: asyncpg.Connection, channel: str, wake: asyncio.Event, stop: asyncio.Event) -> None:
    closed = asyncio.Event()
    conn.add_termination_listener(lambda *_: closed.set())
    await conn.add_listener(channel, lambda *_: wake.set())
    wake.set()
    while not stop.is_set() and not conn.is_closed():
        await wait_any(30.0, stop, closed)


async def wait_any(timeout: float, *events: asyncio.Event) -> None:
    """Return when any of `events` is set or after `timeout` seconds, whichever comes first."""
    if any(e.is_set() for e in events):
        return
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=max(timeout, 0.0), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
