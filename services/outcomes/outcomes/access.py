"""Who may see which enrolled family's progress, as a scope built from the principal and applied in SQL.

Analysts, auditors, administrators and the platform's own services see every family; hub managers see the
families enrolled in their hubs. A practitioner sees the families the cases service lets them see — those
whose case they lead or whose team around the family they are in — asked with their own token
(`shared.caseload`), so need-to-know is decided in one place. A family outside the scope is never loaded: it is
the same 404 (or absence from a batch) as an unknown one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shared.auth import Principal
from shared.caseload import CaseloadClient, CasesUnreachable
from shared.errors import ServiceUnavailable

ALL_FAMILIES_ROLES = ("analyst", "auditor", "admin", "service")
HUB_ROLES = ("hub_manager",)
CASELOAD_ROLES = ("practitioner",)


@dataclass(frozen=True)
class FamilyScope:
    """The families a caller may see: all of them, or those enrolled in `hubs` and those in `families`."""

    everything: bool = False
    hubs: frozenset[str] = frozenset()
    families: frozenset[uuid.UUID] = frozenset()


async def family_scope(
    principal: Principal, family_ids: Sequence[uuid.UUID], caseload: CaseloadClient | None
) -> FamilyScope:
    """The scope of `principal` over `family_ids` (the families a request asks about).

    Without a caseload client, a practitioner sees nothing; when the cases service does not answer, the
    request is refused (503) rather than answered from a guess.
    """
    if principal.has_role(*ALL_FAMILIES_ROLES):
        return FamilyScope(everything=True)
    hubs = frozenset(principal.hubs) if principal.has_role(*HUB_ROLES) else frozenset()
    families: frozenset[uuid.UUID] = frozenset()
    if principal.has_role(*CASELOAD_ROLES) and caseload is not None and family_ids:
        try:
            families = frozenset(await caseload.visible(principal, family_ids))
        except CasesUnreachable as exc:
            raise ServiceUnavailable(
                "The cases service did not answer which of these families you may see; try again shortly"
            ) from exc
    return FamilyScope(hubs=hubs, families=families)
