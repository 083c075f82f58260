"""Who may see which referral: a scope built from the verified principal, applied in SQL by the repositories
(`triage.repository.visible_to`), so that a referral outside it is the same 404 as an unknown id and a list never
loads what it then hides."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Principal


@dataclass(frozen=True, slots=True)
class ReadScope:
    """Which referrals a caller may see: everything, or those of some agencies and/or some hubs."""

    everything: bool = False
    agencies: tuple[str, ...] = ()
    hubs: tuple[str, ...] = ()


def read_scope(principal: Principal) -> ReadScope:
    """Admins (and the platform's services) see every referral; a partner system or practitioner sees its
    agency's; a hub manager sees those of their hubs."""
    if principal.has_role("admin", "service"):
        return ReadScope(everything=True)
    agencies = (principal.agency,) if principal.agency and principal.has_role("partner_system", "practitioner") else ()
    hubs = principal.hubs if principal.has_role("hub_manager") else ()
    return ReadScope(agencies=agencies, hubs=hubs)


def decision_scope(principal: Principal) -> ReadScope:
    """Screening, decisions and consent: a hub manager for their hubs' referrals (admins for all)."""
    if principal.has_role("admin"):
        return ReadScope(everything=True)
    return ReadScope(hubs=principal.hubs if principal.has_role("hub_manager") else ())


def withdraw_scope(principal: Principal) -> ReadScope:
    """Withdrawal: the referring side (admins for all)."""
    if principal.has_role("admin"):
        return ReadScope(everything=True)
    referring = principal.agency and principal.has_role("partner_system", "practitioner")
    return ReadScope(agencies=(principal.agency,) if referring and principal.agency else ())


def sees_matches(principal: Principal | None) -> bool:
    """Match candidates are other people's records in the person index: triage sees them, partners never."""
    return principal is None or principal.has_role("hub_manager", "admin", "service")


KINDS_BY_AGENCY_TYPE: dict[str, tuple[str, ...]] = {"maternity": ("maternity",), "school": ("school",)}
"""The referral kinds a partner system of each agency type may submit (a maternity service does not refer a
pupil; a school does not refer a pregnancy). Practitioners and admins, council staff, may submit either."""


def submission_refusal(principal: Principal, kind: str) -> str | None:
    """Why `principal` may not submit a referral of `kind`, or None when it may."""
    if not principal.has_role("partner_system") or principal.has_role("practitioner", "admin"):
        return None
    allowed = KINDS_BY_AGENCY_TYPE.get(principal.agency_type or "", ())
    if kind in allowed:
        return None
    what = " or ".join(allowed) + " referrals" if allowed else "neither maternity nor school referrals"
    return f"A {principal.agency_type or 'partner'} agency's system may submit {what}, not a {kind} referral"
