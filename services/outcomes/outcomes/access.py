"""Who may see which enrolled family's progress, as a scope built from the principal and applied in SQL.

Analysts, auditors, administrators and the platform's own services see every family; hub managers and
practitioners see the families enrolled in their hubs. A family outside the scope is never loaded: it is the
same 404 (or absence from a batch) as an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Principal

ALL_FAMILIES_ROLES = ("analyst", "auditor", "admin", "service")
HUB_ROLES = ("practitioner", "hub_manager")


@dataclass(frozen=True)
class FamilyScope:
    """The families a caller may see: all of them, or those enrolled in `hubs` (none when empty)."""

    everything: bool = False
    hubs: frozenset[str] = frozenset()


def family_scope(principal: Principal) -> FamilyScope:
    if principal.has_role(*ALL_FAMILIES_ROLES):
        return FamilyScope(everything=True)
    if principal.has_role(*HUB_ROLES):
        return FamilyScope(hubs=frozenset(principal.hubs))
    return FamilyScope()
