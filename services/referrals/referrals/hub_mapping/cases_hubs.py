"""The hubs the cases service serves (`GET cases /v1/hubs`), against which a hub mapping's names are checked.

Asked with the admin's own token, as `shared.caseload` asks about families. Fail closed: when cases does not
answer (down, timed out, or anything but a list), the load is refused with a 503 and nothing is stored.
"""

from __future__ import annotations

import httpx

from shared.auth import Principal
from shared.errors import ServiceUnavailable
from shared.logging import outgoing_headers


async def hubs_of_cases(http: httpx.AsyncClient, cases_url: str, principal: Principal, *, timeout: float) -> set[str]:
    """The codes of the hubs cases serves; `ServiceUnavailable` when it does not say."""
    headers = {"Authorization": f"Bearer {principal.token}", **outgoing_headers()}
    try:
        response = await http.get(cases_url.rstrip("/") + "/v1/hubs", headers=headers, timeout=timeout)
        items = response.json()["items"] if response.status_code == 200 else None
        codes = {str(item["code"]) for item in items} if isinstance(items, list) else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise ServiceUnavailable(f"The cases service did not list its hubs ({type(exc).__name__})") from exc
    if codes is None:
        raise ServiceUnavailable(f"The cases service did not list its hubs (it answered {response.status_code})")
    return codes
