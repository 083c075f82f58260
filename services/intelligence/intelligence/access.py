"""Who may see which identified family, as a scope built from the principal and applied in SQL.

Analysts and administrators see every hub's identified families; a hub manager sees those allocated to their
own hubs. A family outside the scope is never loaded: it is the same 404 as an unknown one. Partner systems,
practitioners, auditors and services see none (403 at the door, `deps`).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Principal

ALL_HUBS_ROLES = ("analyst", "admin")


@dataclass(frozen=True)
class HubScope:
    everything: bool = False
    hubs: frozenset[str] = frozenset()

    def admits(self, hub: str) -> bool:
        return self.everything or hub in self.hubs


def hub_scope(principal: Principal) -> HubScope:
    if principal.has_role(*ALL_HUBS_ROLES):
        return HubScope(everything=True)
    if principal.has_role("hub_manager"):
        return HubScope(hubs=frozenset(principal.hubs))
    return HubScope()
