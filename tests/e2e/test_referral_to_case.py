"""REST end to end, real processes: referrals → cases → outcomes, wired by events as `earlyhelp up` wires them.

* a school referral accepted in referrals becomes a case in cases with the family and its people, and the
  referral then shows its `family_id` and `case_id` (issue 4);
* the outcomes chain: assessed → enrolled → observations → evaluated met → claimed → sampled → validated
  (issue 5).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dateutil.relativedelta import relativedelta

from tests.e2e.stack import (
    HUB,
    NEEDS,
    NORTH_POSTCODE,
    Stack,
    eventually,
    log_tail,
    ok,
    school_referral,
    school_terms,
    time_passes,
    upn_for,
)
from tests.support import auth, make_token
from tests.support.triage import confirm_new_people

pytestmark = pytest.mark.e2e

PARTNER = auth(make_token("partner_system", sub="sch-ls-001", agency="SCH-LS-001", agency_type="school"))
MANAGER = auth(make_token("hub_manager", sub="e2e-manager", agency="LCC", agency_type="council", hubs=[HUB]))
LEAD = auth(make_token("practitioner", sub="e2e-rest-lead", agency="LCC", agency_type="council", hubs=[HUB]))
ANALYST = auth(make_token("analyst", sub="rest-analyst", agency="LCC", agency_type="council"))
AUDITOR = auth(make_token("auditor", sub="rest-auditor", agency="LCC", agency_type="council"))


async def accepted_case(stack: Stack, family_name: str, serial: int) -> dict[str, Any]:
    """Submit (partner), accept (hub manager), and wait until the referral shows its family and case."""
    async with httpx.AsyncClient(base_url=stack.urls["referrals"], timeout=30) as referrals:
        body = school_referral(f"REST-{serial}", family_name, serial)
        created = ok(
            await referrals.post(
                "/v1/referrals/school", json=body, headers={**PARTNER, "Idempotency-Key": str(uuid.uuid4())}
            ),
            201,
        )
        assert created["status"] == "received" and created["hub"] == HUB, created
        assert created["family_id"] is None and created["case_id"] is None
        await confirm_new_people(referrals, created["id"], MANAGER)
        decided = ok(
            await referrals.post(
                f"/v1/referrals/{created['id']}/decision",
                json={"outcome": "accepted", "reason": "Three needs; family consents"},
                headers=MANAGER,
            )
        )
        assert decided["status"] == "accepted"

        async def read() -> dict[str, Any]:
            result: dict[str, Any] = ok(await referrals.get(f"/v1/referrals/{created['id']}", headers=PARTNER))
            return result

        try:
            linked = await eventually(read, lambda r: bool(r["family_id"] and r["case_id"]), what="case link")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{log_tail(stack)}") from exc
        return linked


async def test_accepted_school_referral_becomes_a_case_with_the_family(stack: Stack) -> None:
    referral = await accepted_case(stack, "Okonkwo", 1)
    async with httpx.AsyncClient(base_url=stack.urls["cases"], timeout=30) as cases:
        family = ok(await cases.get(f"/v1/families/{referral['family_id']}", headers=MANAGER))
        case = ok(await cases.get(f"/v1/cases/{referral['case_id']}", headers=MANAGER))
        partner_read = await cases.get(f"/v1/families/{referral['family_id']}", headers=PARTNER)
    assert family["hub"] == HUB and family["postcode"] == NORTH_POSTCODE
    people = {(m["role"], m["person"]["given_name"]): m["person"] for m in family["members"] if m["person"]}
    assert set(people) == {("child", "Kai"), ("parent_carer", "Jordan")}
    pupil = people[("child", "Kai")]
    assert pupil["upn"] == upn_for(1) and pupil["date_of_birth"] == "2015-05-01"
    assert all(p["family_name"] == "Okonkwo" for p in people.values())
    assert case["family_id"] == referral["family_id"] and case["hub"] == HUB
    assert case["status"] == "open" and case["referral_ids"] == [referral["id"]]
    assert case["lead_worker_id"] is None
    assert partner_read.status_code == 403  # a partner system reads nothing in cases


async def test_outcomes_chain_from_assessment_to_validated_claim(stack: Stack) -> None:
    today = datetime.now(UTC).date()
    as_of = today  # never in the future (issue 22): the family's dates move back instead (`time_passes`)
    referral = await accepted_case(stack, "Lindqvist", 2)
    family_id, case_id = referral["family_id"], referral["case_id"]
    async with (
        httpx.AsyncClient(base_url=stack.urls["cases"], timeout=30) as cases,
        httpx.AsyncClient(base_url=stack.urls["outcomes"], timeout=30) as outcomes,
    ):
        family = ok(await cases.get(f"/v1/families?ids={family_id}", headers=MANAGER))["items"][0]
        pupil_id = next(m["person"]["id"] for m in family["members"] if m["role"] == "child")
        lead = stack.workers["e2e-rest-lead"]
        ok(
            await cases.post(
                f"/v1/cases/{case_id}/lead-worker", json={"worker_id": lead, "reason": "allocation"}, headers=MANAGER
            ),
            201,
        )
        # assessed: three needs of the 2022 framework, a dependent child → eligible
        assessment = ok(
            await cases.post(
                f"/v1/cases/{case_id}/assessment",
                json={"needs": [{"code": n, "evidence": f"{n} evidence"} for n in NEEDS], "assessed_on": str(today)},
                headers=LEAD,
            ),
            201,
        )
        assert assessment["eligible"] is True and sorted(assessment["needs"]) == sorted(NEEDS)

        # enrolled: outcomes heard case.assessment_completed (an evaluation of the family is refused until then)
        async def evaluate() -> httpx.Response:
            return await outcomes.post(
                "/v1/evaluations", json={"family_id": family_id, "as_of": str(as_of)}, headers=ANALYST
            )

        await eventually(evaluate, lambda r: r.status_code == 201, what="enrolment in outcomes")
        await time_passes(stack, family_id, start_months=13)  # assessed thirteen months ago

        # observations: three good terms for the pupil, a practitioner's judgement on health
        rows: list[dict[str, Any]] = [
            attendance(pupil_id, start, end) for start, end in school_terms(today - timedelta(days=7))
        ]
        rows.append({"kind": "practitioner_assessment", "family_id": family_id, "need": "health", "met": True,
                     "evidence": "GP confirms treatment plan followed", "assessed_on": str(today)})  # fmt: skip
        rows.append({"kind": "attendance", "upn": upn_for(99), "term_start": "2026-01-05", "term_end": "2026-03-27",
                     "possible_sessions": 100, "attended_sessions": 50})  # fmt: skip
        report = ok(await outcomes.post("/v1/observations", json={"rows": rows}, headers=ANALYST))
        assert report["rows_loaded"] == 4 and report["rows_unknown_person"] == 1 and report["errors"] == []

        # not claimable before closure: met, but the sustainment clock has not started
        early = await outcomes.post("/v1/claims", json={"family_id": family_id, "as_of": str(as_of)}, headers=ANALYST)
        assert early.status_code == 422, early.text

        etag = (await cases.get(f"/v1/cases/{case_id}", headers=LEAD)).headers["etag"]
        closed = ok(
            await cases.post(
                f"/v1/cases/{case_id}/close",
                json={"outcome": "needs_met", "reason": "Goals reached"},
                headers={**LEAD, "If-Match": etag},
            )
        )
        assert closed["status"] == "closed"

        # outcomes heard case.closed; seven months pass, so the 2022 framework's six months are sustained
        async def closure() -> dict[str, Any]:
            body: dict[str, Any] = ok(await outcomes.get(f"/v1/families/{family_id}/progress", headers=MANAGER))
            return body

        await eventually(closure, lambda p: p["closed_on"] == str(today), what="closure in outcomes")
        await time_passes(stack, family_id, closed_months=7)

        # evaluated met and sustained
        async def progress() -> dict[str, Any]:
            ok(await evaluate(), 201)
            body: dict[str, Any] = ok(await outcomes.get(f"/v1/families/{family_id}/progress", headers=MANAGER))
            return body

        evaluated = await eventually(progress, lambda p: p["claimable"], what="sustained progress")
        needs = {n["need"]: n for n in evaluated["needs"]}
        assert set(needs) == set(NEEDS)
        assert all(n["met"] and n["sustained"] for n in needs.values()), needs
        assert evaluated["closed_on"] == str(today - relativedelta(months=7))

        claim = ok(
            await outcomes.post("/v1/claims", json={"family_id": family_id, "as_of": str(as_of)}, headers=ANALYST),
            201,
        )
        assert claim["status"] == "pending" and claim["practitioner_assessed"] is True
        assert len(claim["evidence_sha256"]) == 64

        sample = ok(await outcomes.post("/v1/claims/audit-sample", json={"rate": 0.1, "seed": 3}, headers=AUDITOR), 201)
        assert sample["population"] >= 1 and claim["id"] in sample["claim_ids"]
        # a claim resting on a practitioner's judgement is always in the sample, drawn at random or not
        assert claim["id"] in sample["random_claim_ids"] + sample["practitioner_assessed_claim_ids"]

        validated = ok(
            await outcomes.post(f"/v1/claims/{claim['id']}/decision", json={"decision": "validated"}, headers=AUDITOR)
        )
        assert validated["status"] == "validated" and validated["decided_by"]
        listed = ok(await outcomes.get(f"/v1/claims?family_ids={family_id}", headers=AUDITOR))["items"]
        assert [(c["id"], c["status"], c["sample_id"]) for c in listed] == [(claim["id"], "validated", sample["id"])]


def attendance(person_id: str, start: object, end: object) -> dict[str, Any]:
    """A term at 104 of 110 sessions (94.5%, above the 90% threshold)."""
    return {
        "kind": "attendance",
        "person_id": person_id,
        "term_start": str(start),
        "term_end": str(end),
        "possible_sessions": 110,
        "attended_sessions": 104,
    }
