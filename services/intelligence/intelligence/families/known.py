"""Whether an identified family is already known to early help, asked of the cases service's person index.

Every member of a family is sent (names, date of birth, identifiers, postcode: what the index matches on) to
`POST /v1/people/known` with this service's own credentials; the answer is a status per person and nothing
else. The family's status is the strongest of its members': `open_case` (a member's family has a case not
closed: shown as such, not offered as new), `case_closed`, `known_no_case`, `not_known`. It fails safe: while
cases does not answer, a family stays `unchecked` — never `not_known` — and the check is retried later
(`cases_check_loop`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from intelligence.families.repository import OPEN_TO, FamiliesRepository
from intelligence.models import IdentifiedFamily
from shared.auth import ServiceCredentials
from shared.identifiers import normalise_nhs_number, normalise_postcode, normalise_upn
from shared.logging import outgoing_headers

log = structlog.get_logger("intelligence.known")

CASES_CHECKS = ("unchecked", "open_case", "case_closed", "known_no_case", "not_known")
STRENGTH = {"open_case": 4, "case_closed": 3, "known_no_case": 2, "not_known": 1}
BATCH = 200
"""People per call (the cases endpoint's limit)."""


class CasesUnavailable(Exception):
    """The cases service did not answer the check (down, slow, refusing, or an answer we cannot read)."""


def _valid(normalise: Any, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(normalise(value))
    except ValueError:
        return None


def member_query(family: IdentifiedFamily, index: int, member: dict[str, Any]) -> dict[str, Any] | None:
    """What the index matches a member on, or None for a member without both names (nothing to match)."""
    given, surname = (member.get("given_name") or "").strip(), (member.get("family_name") or "").strip()
    if not given or not surname:
        return None
    query: dict[str, Any] = {"ref": f"{family.id}:{index}", "given_name": given[:100], "family_name": surname[:100]}
    values = {
        "date_of_birth": member.get("date_of_birth"),
        "nhs_number": _valid(normalise_nhs_number, member.get("nhs_number")),
        "upn": _valid(normalise_upn, member.get("upn")),
        "postcode": _valid(normalise_postcode, family.postcode),
    }
    return query | {k: v for k, v in values.items() if v}


def family_status(statuses: Iterable[str]) -> str:
    """The strongest of the members' statuses (a family none of whose members can be matched is not known)."""
    return max(statuses, key=lambda s: STRENGTH.get(s, 0), default="not_known")


class CasesIndex:
    """The cases service's person index, asked with a bounded time per call."""

    def __init__(self, *, cases_url: str, credentials: ServiceCredentials, timeout: float = 10.0) -> None:
        self.url = cases_url.rstrip("/") + "/v1/people/known"
        self.credentials = credentials
        self.timeout = timeout

    async def statuses(self, http: httpx.AsyncClient, queries: Sequence[dict[str, Any]]) -> dict[str, str]:
        """Each query's status by its ref; raises CasesUnavailable if any call fails."""
        found: dict[str, str] = {}
        headers = {**self.credentials.headers(), **outgoing_headers()}
        for start in range(0, len(queries), BATCH):
            chunk = list(queries[start : start + BATCH])
            try:
                response = await http.post(self.url, json={"people": chunk}, headers=headers, timeout=self.timeout)
                if response.status_code != 200:
                    raise CasesUnavailable(f"cases answered {response.status_code}")
                answer = {str(i["ref"]): str(i["status"]) for i in response.json()["items"]}
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise CasesUnavailable(type(exc).__name__) from exc
            if set(answer) != {q["ref"] for q in chunk} or not set(answer.values()) <= set(STRENGTH):
                raise CasesUnavailable("cases answered for other people than asked")
            found |= answer
        return found

    async def check(
        self, http: httpx.AsyncClient, families: Sequence[IdentifiedFamily], *, budget: float
    ) -> tuple[int, int]:
        """Check families (in place), a batch at a time, until done, cases fails, or `budget` seconds pass.
        (checked, left unchecked)."""
        deadline = time.monotonic() + budget
        checked = 0
        for start in range(0, len(families), 50):
            if time.monotonic() > deadline:
                break
            chunk = families[start : start + 50]
            queries = {f.id: [q for i, m in enumerate(f.members) if (q := member_query(f, i, m))] for f in chunk}
            try:
                answer = await self.statuses(http, [q for qs in queries.values() for q in qs])
            except CasesUnavailable as exc:
                log.warning("cases_check_unavailable", error=str(exc), families=len(families) - checked)
                break
            now = datetime.now(UTC)
            for family in chunk:
                apply_check(family, family_status(answer[q["ref"]] for q in queries[family.id]), now)
            checked += len(chunk)
        return checked, len(families) - checked


def apply_check(family: IdentifiedFamily, check: str, now: datetime) -> None:
    """Record the answer; an open case moves an undecided family to `open_case` (and back when it closes)."""
    family.cases_check = check
    family.cases_checked_at = now
    if family.status in OPEN_TO:
        family.status = "open_case" if check == "open_case" else "identified"


async def cases_check_loop(app: FastAPI, stop: asyncio.Event) -> None:
    """Retry families left unchecked (cases was down) and recheck stale answers, every interval."""
    settings = app.state.settings
    interval = float(settings.cases_check_interval_seconds)
    index: CasesIndex = app.state.cases_index
    while interval > 0 and not stop.is_set():
        try:
            async with app.state.db.sessionmaker() as session, session.begin():
                stale = datetime.now(UTC) - timedelta(seconds=settings.cases_recheck_after_seconds)
                families = await FamiliesRepository(session).due_for_check(stale, limit=1000)
                if families:
                    checked, left = await index.check(app.state.http, families, budget=interval / 2)
                    log.info("cases_checked", checked=checked, unchecked=left)
        except Exception as exc:  # the database may be down; try again next time
            log.warning("cases_check_failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
