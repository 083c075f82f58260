"""Who may see which referral: a scope built from the verified principal, applied in SQL by the repositories
(`triage.repository.visible_to`), so that a referral outside it is the same 404 as an unknown id and a list never
loads what it then hides.

- Admins and the platform's own services see every referral.
- A partner system sees its agency's referrals (its own submissions, whoever in the agency sent them).
- A hub manager sees the referrals allocated to their hubs.
- A practitioner sees the referrals of the families whose case they lead or whose team around the family they are
  in — the cases service decides which, asked with the practitioner's own token (`shared.caseload`) — and the
  referrals they submitted themselves (their agency and their token's `sub`). A council token carries the
  council's agency, so the agency alone would show a practitioner every hub's referrals.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from shared.auth import Principal
from shared.caseload import CaseloadClient, CasesUnreachable
from shared.errors import ServiceUnavailable

CASELOAD_ROLES = ("practitioner",)


@dataclass(frozen=True, slots=True)
class ReadScope:
    """Which referrals a caller may see: everything, or those of some agencies, some hubs, some families, and
    those one caller submitted (`submitted`: agency and subject)."""

    everything: bool = False
    agencies: tuple[str, ...] = ()
    hubs: tuple[str, ...] = ()
    families: tuple[uuid.UUID, ...] = ()
    submitted: tuple[str, str] | None = None


def _submitted(principal: Principal) -> tuple[str, str] | None:
    return (principal.agency, principal.sub) if principal.agency and principal.has_role(*CASELOAD_ROLES) else None


def needs_caseload(principal: Principal) -> bool:
    """Whether this caller's view depends on their caseload (asked of the cases service)."""
    return principal.has_role(*CASELOAD_ROLES) and not principal.has_role("admin", "service")


def read_scope(principal: Principal, caseload: Sequence[uuid.UUID] = ()) -> ReadScope:
    """Admins (and the platform's services) see every referral; a partner system its agency's; a hub manager
    those of their hubs; a practitioner those of `caseload` (the families cases lets them see) and their own."""
    if principal.has_role("admin", "service"):
        return ReadScope(everything=True)
    agencies = (principal.agency,) if principal.agency and principal.has_role("partner_system") else ()
    hubs = principal.hubs if principal.has_role("hub_manager") else ()
    families = tuple(caseload) if principal.has_role(*CASELOAD_ROLES) else ()
    return ReadScope(agencies=agencies, hubs=hubs, families=families, submitted=_submitted(principal))


def decision_scope(principal: Principal) -> ReadScope:
    """Screening, decisions and consent: a hub manager for their hubs' referrals (admins for all)."""
    if principal.has_role("admin"):
        return ReadScope(everything=True)
    return ReadScope(hubs=principal.hubs if principal.has_role("hub_manager") else ())


def withdraw_scope(principal: Principal) -> ReadScope:
    """Withdrawal: the referring side — a partner system for its agency's referrals, a practitioner for those they
    submitted (admins for all)."""
    if principal.has_role("admin"):
        return ReadScope(everything=True)
    agencies = (principal.agency,) if principal.agency and principal.has_role("partner_system") else ()
    return ReadScope(agencies=agencies, submitted=_submitted(principal))


async def caseload_families(
    principal: Principal, caseload: CaseloadClient | None, family_ids: Sequence[uuid.UUID] | None
) -> tuple[uuid.UUID, ...]:
    """The families of the caller's caseload: of `family_ids`, or all of them when None.

    Empty for callers whose view does not depend on a caseload. When the cases service does not answer, the
    request is refused (503) rather than answered from a guess.
    """
    if not needs_caseload(principal) or caseload is None or (family_ids is not None and not family_ids):
        return ()
    try:
        found = await (
            caseload.all_visible(principal) if family_ids is None else caseload.visible(principal, family_ids)
        )
    except CasesUnreachable as exc:
        raise ServiceUnavailable(
            "The cases service did not answer which families you work with; try again shortly"
        ) from exc
    return tuple(sorted(found))


def sees_matches(principal: Principal | None) -> bool:
    """Match candidates are other people's records in the person index: triage sees them, partners never."""
    return principal is None or principal.has_role("hub_manager", "admin", "service")


KINDS_BY_AGENCY_TYPE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "maternity": ("maternity",),
        "school": ("school",),
        "police": ("partner", "operation_encompass"),
        "health": ("partner",),
        "housing": ("partner",),
        "probation": ("partner",),
        "vcs": ("partner",),
    }
)
"""The referral kinds a partner system of each agency type may submit: a maternity service does not refer a pupil,
a school does not refer a pregnancy, and only the police send Operation Encompass notifications. Health covers
health visitors and GPs; vcs is the voluntary and community sector. Practitioners and admins, council staff, may
submit any kind. docs/guides/partner-integration.md prints this table."""


def submission_refusal(principal: Principal, kind: str) -> str | None:
    """Why `principal` may not submit a referral of `kind`, or None when it may."""
    if not principal.has_role("partner_system") or principal.has_role("practitioner", "admin"):
        return None
    allowed = KINDS_BY_AGENCY_TYPE.get(principal.agency_type or "", ())
    if kind in allowed:
        return None
    what = " or ".join(allowed) + " referrals" if allowed else "no referrals"
    article = "an" if kind[0] in "aeiou" else "a"
    return f"A {principal.agency_type or 'partner'} agency's system may submit {what}, not {article} {kind} referral"
