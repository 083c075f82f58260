"""The active outcome framework as other services read it, and the one cached client that reads it.

`GET outcomes /v1/frameworks/active` answers an `ActiveFramework` with an `ETag`. `FrameworkClient` keeps the
last answer for `max_age` seconds, then revalidates it with `If-None-Match`; when outcomes cannot be reached it
keeps serving the last framework it had, and asks again only after `retry_after_failure` seconds. Referrals
(the need codes a referral may carry) and cases (the framework an assessment is checked against) both use it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.auth import ServiceCredentials
from shared.errors import ServiceUnavailable
from shared.logging import outgoing_headers

log = structlog.get_logger("shared.contracts.frameworks")
ACTIVE_FRAMEWORK_PATH = "/v1/frameworks/active"

BUILT_IN_NEED_CODES = frozenset(
    {
        # supporting-families-2022
        "education",
        "early_years",
        "health",
        "substance_use",
        "family_relationships",
        "child_safety",
        "crime",
        "domestic_abuse",
        "housing",
        "financial_stability",
        # families-first (Leeds)
        "childrens_life_chances",
        "safe_in_community",
        "safe_in_relationships",
        "living_standards",
        "health_wellbeing",
    }
)
"""The need codes of the frameworks the outcomes service ships built in (`outcomes/frameworks/*.json`; a test
checks the two agree): the one fallback a service may use while outcomes has never answered."""


class FrameworkRule(BaseModel):
    """How progress on a need is shown; only the outcomes service interprets `params`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


def descriptor_code(label: str) -> str:
    """The code of a descriptor written as a bare sentence (a council's framework, a version stored before codes):
    its words in lower case joined by `_`, at most 64 characters (`"Problem debt"` → `problem_debt`)."""
    code = "_".join(re.findall(r"[a-z0-9]+", label.lower()))[:64].rstrip("_")
    return code if code[:1].isalpha() else ("d_" + code)[:64].rstrip("_")


def descriptor_form(value: Any) -> Any:
    """A descriptor as `{code, label}`: a bare sentence is its own label, with `descriptor_code` as its code."""
    return {"code": descriptor_code(value), "label": value} if isinstance(value, str) else value


class FrameworkDescriptor(BaseModel):
    """A descriptor of a need: a stable `code` an assessment sends, and the sentence a practitioner reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    label: str

    @model_validator(mode="before")
    @classmethod
    def _from_sentence(cls, value: Any) -> Any:
        return descriptor_form(value)


class FrameworkNeed(BaseModel):
    """A headline outcome (need) of a framework."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    name: str
    descriptors: list[FrameworkDescriptor] = Field(default_factory=list)
    rule: FrameworkRule | None = None

    def descriptor(self, given: str) -> FrameworkDescriptor | None:
        """The descriptor `given` names: by its code, or (kept for clients written before codes) by its exact
        sentence."""
        return next((d for d in self.descriptors if d.code == given), None) or next(
            (d for d in self.descriptors if d.label == given), None
        )


class EmploymentRoute(BaseModel):
    """Where a framework allows it: an adult's move into continuous employment makes the family claimable."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    statuses: list[str]
    weeks: int


class ActiveFramework(BaseModel):
    """`GET outcomes /v1/frameworks/active` (and `/v1/frameworks/{code}`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str
    version: str
    name: str
    min_needs: int
    requires_dependent_children: bool
    sustain_months: int | None = None
    needs: list[FrameworkNeed]
    employment_route: EmploymentRoute | None = None

    def need(self, code: str) -> FrameworkNeed | None:
        return next((n for n in self.needs if n.code == code), None)

    def need_codes(self) -> frozenset[str]:
        return frozenset(n.code for n in self.needs)

    @property
    def label(self) -> str:
        """`code@version`."""
        return f"{self.code}@{self.version}"


CHILD_ROLES = ("child", "young_person")
"""Member roles that count as dependent children; `unborn` marks an expectant parent's pregnancy."""


class Eligibility(BaseModel):
    """Whether a family is eligible under a framework version, with the reasons, and the conditions it fails as
    (JSON pointer, message) pairs — the one rule cases applies at assessment and outcomes at enrolment and claim."""

    model_config = ConfigDict(frozen=True)

    eligible: bool
    reasons: list[str]
    failures: list[tuple[str, str]] = Field(default_factory=list)


def eligibility(framework: ActiveFramework, need_codes: Sequence[str], roles: Sequence[str]) -> Eligibility:
    """The framework's eligibility rule: at least `min_needs` distinct needs, every one a need of this version;
    where the framework asks, dependent children or an expectant parent among the family's current members."""
    reasons: list[str] = []
    failures: list[tuple[str, str]] = []
    known = framework.need_codes()
    distinct = sorted(set(need_codes))
    for code in distinct:
        if code not in known:
            failures.append((f"/needs/{code}", f"{code!r} is not a need of {framework.label}"))
    counted = len([c for c in distinct if c in known])
    reasons.append(f"{counted} distinct need(s) identified; {framework.name} needs at least {framework.min_needs}")
    if counted < framework.min_needs:
        failures.append(
            ("/needs", f"{counted} distinct need(s) identified; {framework.label} needs at least {framework.min_needs}")
        )
    if framework.requires_dependent_children:
        if any(r in CHILD_ROLES for r in roles):
            reasons.append("the family includes dependent children")
        elif "unborn" in roles:
            reasons.append("the family includes an expectant parent")
        else:
            message = "the framework needs dependent children or an expectant parent, and the family has neither"
            reasons.append(message)
            failures.append(("/people", message))
    return Eligibility(eligible=not failures, reasons=reasons, failures=failures)


class FrameworkClient:
    """The active framework from the outcomes service, cached with its ETag; safe for concurrent requests."""

    def __init__(
        self,
        *,
        outcomes_url: str,
        credentials: ServiceCredentials,
        max_age: float,
        timeout: float | None = None,
        retry_after_failure: float = 0.0,
    ) -> None:
        self.url = outcomes_url.rstrip("/") + ACTIVE_FRAMEWORK_PATH
        self.credentials = credentials
        self.max_age = max_age
        self.timeout = timeout
        self.retry_after_failure = min(retry_after_failure, max_age)
        self._framework: ActiveFramework | None = None
        self._etag: str | None = None
        self._fresh_until = float("-inf")
        self._lock = asyncio.Lock()
        self.requests = 0
        self.not_modified = 0

    async def known(self, http: httpx.AsyncClient) -> ActiveFramework | None:
        """The active framework, or None while outcomes has never answered."""
        if time.monotonic() < self._fresh_until:
            return self._framework
        async with self._lock:
            if time.monotonic() >= self._fresh_until:
                await self._refresh(http)
        return self._framework

    async def active(self, http: httpx.AsyncClient) -> ActiveFramework:
        """The active framework; `ServiceUnavailable` (503) while outcomes has never answered."""
        framework = await self.known(http)
        if framework is None:
            raise ServiceUnavailable("The outcomes service (active framework) is unreachable")
        return framework

    async def _refresh(self, http: httpx.AsyncClient) -> None:
        headers = {**outgoing_headers(), **self.credentials.headers()}
        if self._etag and self._framework is not None:
            headers["If-None-Match"] = self._etag
        self.requests += 1
        try:
            timeout: Any = self.timeout if self.timeout is not None else httpx.USE_CLIENT_DEFAULT
            response = await http.get(self.url, headers=headers, timeout=timeout)
            if response.status_code == 304 and self._framework is not None:
                self.not_modified += 1
                self._fresh_until = time.monotonic() + self.max_age
                return
            response.raise_for_status()
            framework = ActiveFramework.model_validate_json(response.content)
        except (httpx.HTTPError, ValidationError, ValueError) as exc:
            # Keep what we had and ask again a little later, not on every request.
            log.warning("framework_unavailable", error_type=type(exc).__name__, cached=self._framework is not None)
            self._fresh_until = time.monotonic() + self.retry_after_failure
            return
        self._framework, self._etag = framework, response.headers.get("etag")
        self._fresh_until = time.monotonic() + self.max_age
