"""Open-loop load generator (a separate process): school referrals arriving at a fixed rate, whatever the latency.

`wrk` is closed-loop: each connection waits for its answer before sending again, so a slow server is sent less
(coordinated omission) and a latency target at a fixed arrival rate cannot be read from it; wrk2, which fixes
that, is not in Debian. This process sends request n at start + n / rate on whichever kept-alive connection is
free (opening another, up to `--connections`, when none is), and times each request from the moment it was due,
so queueing behind a slow server counts. It speaks just enough HTTP/1.1 (pre-built requests, Content-Length
answers) to stay cheap, and reports what shows it was not the bottleneck: the CPU it used, how late it was in
sending (`send_lag_p99_ms`) and the rate it reached. Bodies are those of `bench/wrk/school_referrals.lua`.

    python bench/_openloop.py --url http://127.0.0.1:8001/v1/referrals/school --rate 500 --seconds 10 \
        --token "$TOKEN" --run 42

prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from stdnum.gb import upn as upn_lib


def _upn(serial: int) -> str:
    digits = f"801{serial:09d}"  # 801: a local authority's number, as the service checks
    return upn_lib.calc_check_digit(digits) + digits


def body(reference: str, serial: int, recorded_at: str) -> bytes:
    """The same school referral as the wrk script sends."""
    return (
        '{"external_reference":"' + reference + '",'
        '"referrer":{"name":"Mr Daniel Okafor","role":"designated safeguarding lead"},'
        '"needs":["education"],"reason":"Attendance has fallen below 80% this term.",'
        '"consent":{"given":true,"given_by":"Jo Smith","recorded_at":"' + recorded_at + '","method":"verbal"},'
        '"lawful_basis":"consent","school_urn":"107950",'
        '"pupil":{"given_name":"Kai","family_name":"Smith","date_of_birth":"2014-03-02","postcode":"LS10 1AB",'
        '"upn":"' + _upn(serial) + '","year_group":6},'
        '"parents":[{"given_name":"Jo","family_name":"Smith","date_of_birth":"1985-07-01"}],'
        '"attendance":{"current_term_percent":78.5,"last_three_terms_percent":[88.0,91.2,85.0],'
        '"unauthorised_absence_sessions":14},'
        '"suspensions_this_year":1,"permanently_excluded":false,"sen_status":"sen_support","transition":true}'
    ).encode()


class Pool:
    """Kept-alive connections to one host; `request` sends pre-built bytes and returns the status code."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)
        self.opened = 0

    async def request(self, data: bytes) -> int:
        async with self.slots:
            if self.idle:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                self.opened += 1
            writer.write(data)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding":
                    raise RuntimeError("chunked answers are not supported by this generator")
            if length:
                await reader.readexactly(length)
            if close:
                writer.close()
            else:
                self.idle.append((reader, writer))
            return status


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(url: str, *, rate: float, seconds: float, token: str, tag: int, connections: int) -> dict[str, object]:
    parts = urlsplit(url)
    pool = Pool(parts.hostname or "127.0.0.1", parts.port or 80, connections)
    recorded_at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    total = int(rate * seconds)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
    requests = []
    for n in range(total):
        data = body(f"OPEN-{tag}-{n}", (tag % 100) * 10_000_000 + 9_000_000 + n, recorded_at)
        requests.append(
            (
                head + f"Idempotency-Key: open-loop-{tag}-{n}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data
        )
    latencies: list[float] = []
    lags: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0

    async def one(due: float, data: bytes) -> None:
        nonlocal errors
        try:
            status = await pool.request(data)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            return
        latencies.append(time.perf_counter() - due)
        statuses[status] = statuses.get(status, 0) + 1

    cpu_before = _cpu()
    started = time.perf_counter()
    tasks = []
    for n, data in enumerate(requests):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, time.perf_counter() - due))
        tasks.append(asyncio.create_task(one(due, data)))
    sending = time.perf_counter() - started
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu_before
    q = statistics.quantiles(sorted(latencies), n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    lag_q = statistics.quantiles(sorted(lags), n=100, method="inclusive") if len(lags) > 1 else [0.0] * 99
    return {
        "target_rate": rate,
        "sent_rate": total / sending if sending else 0.0,
        "requests": total,
        "completed": len(latencies),
        "errors": errors,
        "statuses": statuses,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "send_lag_p99_ms": lag_q[98] * 1000,
        "connections_opened": pool.opened,
        "generator_cpu_share": cpu / elapsed,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--run", type=int, required=True, help="tag making keys and UPNs unique across runs")
    parser.add_argument("--connections", type=int, default=256)
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.url,
            rate=args.rate,
            seconds=args.seconds,
            token=args.token,
            tag=args.run,
            connections=args.connections,
        )
    )
    print("OPENLOOPJSON " + json.dumps(result))


if __name__ == "__main__":
    main()
