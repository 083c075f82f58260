"""One word for one thing: a decision body says `decision` (as claims and identified families do); `outcome`, the
referral decision's old name, is a deprecated alias accepted for one release."""

from __future__ import annotations

import httpx

from shared.deprecation import DOCS_URL
from tests.referrals.conftest import create_maternity, hub_manager


async def test_a_referral_decision_is_made_with_decision_as_a_claim_decision_is(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    decided = await client.post(
        f"/v1/referrals/{rid}/decision",
        headers=hub_manager("north"),
        json={"decision": "signposted", "reason": "Universal services fit"},
    )
    assert decided.status_code == 200, decided.text
    assert "deprecation" not in decided.headers and "link" not in decided.headers
    assert decided.json()["status"] == "signposted"
    # the read says `decision` as the body does; the old `outcome` keeps its value for partner systems
    assert decided.json()["decision"]["decision"] == "signposted"
    assert decided.json()["decision"]["outcome"] == "signposted"
    again = await client.get(f"/v1/referrals/{rid}", headers=hub_manager("north"))
    assert again.json()["decision"]["decision"] == again.json()["decision"]["outcome"] == "signposted"


async def test_the_old_name_outcome_is_still_accepted(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    decided = await client.post(
        f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"outcome": "signposted", "reason": "x"}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "signposted"
    # RFC 9745: the answer says the request used a deprecated name, and links the page that lists them
    assert decided.headers["deprecation"] == "@1796256000"  # 2026-12-03, when `outcome` was deprecated
    assert decided.headers["link"] == f'<{DOCS_URL}>; rel="deprecation"; type="text/html"'
    assert DOCS_URL.endswith("/contracts#deprecated-names")


async def test_a_refused_request_with_an_old_name_says_so_too(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    refused = await client.post(
        f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"outcome": "withdrawn", "reason": "x"}
    )
    assert refused.status_code == 422
    assert refused.headers["deprecation"] == "@1796256000"


async def test_a_decision_without_its_word_names_decision(client: httpx.AsyncClient) -> None:
    rid = (await create_maternity(client)).json()["id"]
    missing = await client.post(f"/v1/referrals/{rid}/decision", headers=hub_manager("north"), json={"reason": "x"})
    assert missing.status_code == 422
    assert [e["pointer"] for e in missing.json()["errors"]] == ["/decision"]


async def test_the_openapi_document_names_decision(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["DecisionCreate"]
    assert set(schema["required"]) == {"decision", "reason"}


async def test_the_openapi_document_marks_the_read_models_outcome_deprecated(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["DecisionRead"]
    assert {"decision", "outcome"} <= set(schema["required"])
    assert schema["properties"]["outcome"]["deprecated"] is True
    assert "deprecated" not in schema["properties"]["decision"]
