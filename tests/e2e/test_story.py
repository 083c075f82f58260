"""The whole story through the GraphQL gateway, every part a real process (issue 6, "Done when").

A school's partner system refers a family; the hub manager accepts it; cases opens the case (event); the hub
manager allocates a lead worker; the lead worker records the assessment and the plan; the analyst loads
observations and evaluates; the lead worker closes the case; the analyst claims; the auditor samples and
validates. Each step is taken with the role that really does it, and each forbidden step is tried with a
wrong role and refused (FORBIDDEN from the service's role check, or NOT_FOUND where the service hides a
record the caller may not see).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.stack import (
    HUB,
    NEEDS,
    Stack,
    closed_in_outcomes,
    eventually,
    log_tail,
    school_terms,
    time_passes,
    upn_for,
)
from tests.support import auth, make_token
from tests.support.triage import confirm_new_people

pytestmark = pytest.mark.e2e

PARTNER = make_token("partner_system", sub="sch-ls-001-mis", agency="SCH-LS-001", agency_type="school")
MANAGER = make_token("hub_manager", sub="e2e-manager", agency="LCC", agency_type="council", hubs=[HUB])
LEAD = make_token("practitioner", sub="e2e-lead", agency="LCC", agency_type="council", hubs=[HUB])
OTHER_PRACTITIONER = make_token("practitioner", sub="e2e-other", agency="LCC", agency_type="council", hubs=[HUB])
ANALYST = make_token("analyst", sub="story-analyst", agency="LCC", agency_type="council")
AUDITOR = make_token("auditor", sub="story-auditor", agency="LCC", agency_type="council")

PAYLOAD_ERRORS = "userErrors { field message code }"
CASE_FIELDS = "id status hub version leadWorker { id name } assessment { needs eligible eligibilityReasons }"


class Gateway:
    """GraphQL over HTTP to the gateway process, as a portal or a partner system would call it."""

    def __init__(self, client: httpx.AsyncClient, stack: Stack) -> None:
        self.client = client
        self.stack = stack

    async def __call__(self, query: str, token: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=auth(token)
        )
        assert response.status_code == 200, (response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, token: str, **variables: Any) -> dict[str, Any]:
        """The data of a query or mutation that must succeed (no errors, no user errors)."""
        body = await self(query, token, **variables)
        assert not body.get("errors"), f"{body['errors']}\n{log_tail(self.stack)}"
        data: dict[str, Any] = body["data"]
        for value in data.values():
            if isinstance(value, dict) and "userErrors" in value:
                assert value["userErrors"] == [], value["userErrors"]
        return data

    async def refused(self, query: str, token: str, code: str, **variables: Any) -> None:
        """The call is refused with `code`: as a top-level error (null payload) or as a typed user error."""
        body = await self(query, token, **variables)
        errors = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        user_errors = [
            e["code"]
            for value in (body.get("data") or {}).values()
            if isinstance(value, dict)
            for e in value.get("userErrors") or []
        ]
        assert code in errors or code in user_errors, body
        for value in (body.get("data") or {}).values():
            if isinstance(value, dict):  # nothing changed: the payload carries no object
                assert all(v is None for k, v in value.items() if k != "userErrors"), value


SUBMIT = f"""
mutation Submit($input: SchoolReferralInput!, $key: String!) {{
  submitSchoolReferral(input: $input, idempotencyKey: $key) {{
    referral {{ id status hub kind agency needs familyId caseId }}
    {PAYLOAD_ERRORS}
  }}
}}"""

DECIDE = f"""
mutation Decide($id: ID!) {{
  decideReferral(id: $id, input: {{decision: ACCEPTED, reason: "Three needs; the family consents"}}) {{
    referral {{ id status decision {{ outcome reason decidedBy }} }}
    {PAYLOAD_ERRORS}
  }}
}}"""

REFERRAL = """
query Referral($id: ID!) {
  referral(id: $id) { id status familyId caseId matchingStatus }
}"""

FAMILY = """
query Family($id: ID!) {
  family(id: $id) {
    id hub postcode
    members { role person { id givenName familyName dateOfBirth upn } }
    currentCase { id status }
    referrals { id status }
  }
}"""

ASSIGN = f"""
mutation Assign($case: ID!, $worker: ID!) {{
  assignLeadWorker(caseId: $case, input: {{workerId: $worker, reason: "Allocation at the hub meeting"}}) {{
    case {{ {CASE_FIELDS} }}
    {PAYLOAD_ERRORS}
  }}
}}"""

ME = """
query Me { me { sub roles hubs worker { id name } caseload { id status family { id } } } }"""

ASSESS = f"""
mutation Assess($case: ID!, $input: AssessmentInput!) {{
  recordAssessment(caseId: $case, input: $input) {{
    case {{ {CASE_FIELDS} }}
    {PAYLOAD_ERRORS}
  }}
}}"""

TEAM = f"""
mutation Team($case: ID!, $input: TeamInput!, $version: Int) {{
  updateTeam(caseId: $case, input: $input, version: $version) {{ case {{ id version }} {PAYLOAD_ERRORS} }}
}}"""
PLAN = f"""
mutation Plan($case: ID!, $input: PlanInput!, $version: Int) {{
  updatePlan(caseId: $case, input: $input, version: $version) {{
    plan {{ id version nextReviewDue goals {{ need description actions {{ description owner dueOn status }} }}
           teamAroundFamily {{ role worker {{ name }} }} }}
    {PAYLOAD_ERRORS}
  }}
}}"""

CASE_PLAN = """
query CasePlan($family: ID!) {
  family(id: $family) { currentCase { id plan { version goals { need actions { description } } } } }
}"""

CONTACT = f"""
mutation Contact($case: ID!, $input: ContactInput!, $key: String) {{
  addContact(caseId: $case, input: $input, idempotencyKey: $key) {{
    contact {{ id kind note sensitive }} {PAYLOAD_ERRORS}
  }}
}}"""

CONTACTS = """
query Contacts($family: ID!) { family(id: $family) { currentCase { contacts { kind note sensitive } } } }"""

OBSERVE = f"""
mutation Observe($rows: [ObservationInput!]!) {{
  recordObservations(observations: $rows) {{ report {PAYLOAD_ERRORS} }}
}}"""

EVALUATE = f"""
mutation Evaluate($family: ID!, $asOf: Date!) {{
  runEvaluation(familyId: $family, asOf: $asOf) {{ report {PAYLOAD_ERRORS} }}
}}"""

CASE_VERSION = """
query CaseVersion($family: ID!) { family(id: $family) { currentCase { version } } }"""

CLOSE = f"""
mutation Close($case: ID!, $version: Int) {{
  closeCase(caseId: $case, version: $version, input: {{outcome: NEEDS_MET, reason: "Every goal reached"}}) {{
    case {{ id status closedOn closureOutcome }}
    {PAYLOAD_ERRORS}
  }}
}}"""

PROGRESS = """
query Progress($family: ID!) { family(id: $family) { id progress { need met sustained reasons } } }"""

CLAIM = f"""
mutation Claim($family: ID!, $asOf: Date!, $key: String) {{
  createClaim(familyId: $family, asOf: $asOf, idempotencyKey: $key) {{
    claim {{ id status phase evidenceHash practitionerAssessed sampledForAudit }}
    {PAYLOAD_ERRORS}
  }}
}}"""

SAMPLE = f"""
mutation Sample {{
  sampleClaimsForAudit(rate: 0.5, seed: 11) {{
    sample {{ id population claimIds randomClaimIds practitionerAssessedClaimIds }}
    {PAYLOAD_ERRORS}
  }}
}}"""

VALIDATE = f"""
mutation Validate($id: ID!) {{
  validateClaim(id: $id, input: {{decision: VALIDATED}}) {{
    claim {{ id status auditReason decidedBy sampledForAudit }}
    {PAYLOAD_ERRORS}
  }}
}}"""

CLAIMS = """
query Claims { claims(first: 10, filter: {status: "validated"}) { nodes { id status } } }"""


def school_referral_input(serial: int) -> dict[str, Any]:
    """The GraphQL input of a school referral (camelCase, enums by name)."""
    recorded = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    return {
        "externalReference": f"MIS-{serial}",
        "referrer": {"name": "Dana Whitfield", "role": "Designated safeguarding lead", "email": "dsl@school.example"},
        "needs": list(NEEDS),
        "reason": "Attendance has fallen for three terms; police contact; health worries at home.",
        "consent": {"given": True, "givenBy": "parent", "recordedAt": recorded, "method": "VERBAL"},
        "lawfulBasis": "CONSENT",
        "schoolUrn": "107950",
        "pupil": {
            "givenName": "Amara",
            "familyName": "Balogun",
            "dateOfBirth": "2015-05-01",
            "upn": upn_for(serial),
            "yearGroup": 6,
            "postcode": "LS7 3AB",
            "address": "4 Harehills Lane, Leeds",
        },
        "parents": [{"givenName": "Tobi", "familyName": "Balogun", "dateOfBirth": "1984-09-12", "postcode": "LS7 3AB"}],
        "attendance": {"currentTermPercent": 79.0, "lastThreeTermsPercent": [85.0, 83.5, 80.0]},
        "senStatus": "SEN_SUPPORT",
    }


async def test_the_whole_story_through_the_gateway(stack: Stack) -> None:
    today = datetime.now(UTC).date()
    as_of = today  # never in the future (issue 22): the family's dates move back instead (`time_passes`)
    async with httpx.AsyncClient(base_url=stack.urls["gateway"], timeout=30) as client:
        gql = Gateway(client, stack)

        # 1. the school's partner system submits the referral, with an idempotency key
        key = str(uuid.uuid4())
        referral_input = school_referral_input(101)
        await gql.refused(SUBMIT, MANAGER, "FORBIDDEN", input=referral_input, key=str(uuid.uuid4()))
        await gql.refused(SUBMIT, ANALYST, "FORBIDDEN", input=referral_input, key=str(uuid.uuid4()))
        submitted = (await gql.data(SUBMIT, PARTNER, input=referral_input, key=key))["submitSchoolReferral"]
        referral = submitted["referral"]
        assert referral["status"] == "RECEIVED" and referral["kind"] == "SCHOOL" and referral["hub"] == HUB
        assert referral["agency"] == "SCH-LS-001" and referral["familyId"] is None
        replay = (await gql.data(SUBMIT, PARTNER, input=referral_input, key=key))["submitSchoolReferral"]
        assert replay["referral"]["id"] == referral["id"]  # the retry replays the first answer
        changed = {**referral_input, "reason": "A different body under the same key"}
        reused = (await gql(SUBMIT, PARTNER, input=changed, key=key))["data"]["submitSchoolReferral"]
        assert reused["referral"] is None
        assert [(e["field"], e["code"]) for e in reused["userErrors"]] == [("idempotencyKey", "INVALID")]
        invalid = {**referral_input, "externalReference": "MIS-bad", "schoolUrn": "12"}
        bad = (await gql(SUBMIT, PARTNER, input=invalid, key=str(uuid.uuid4())))["data"]["submitSchoolReferral"]
        assert bad["referral"] is None and [e["field"] for e in bad["userErrors"]] == ["/school_urn"]

        # 2. the hub manager confirms who each referred person is where the person index could not (issue 17) ...
        async with httpx.AsyncClient(base_url=stack.urls["referrals"], timeout=30) as rest:
            await confirm_new_people(rest, referral["id"], {"Authorization": f"Bearer {MANAGER}"})
        # ... and accepts it; the partner and a practitioner may not decide
        await gql.refused(DECIDE, PARTNER, "FORBIDDEN", id=referral["id"])
        await gql.refused(DECIDE, LEAD, "FORBIDDEN", id=referral["id"])
        decided = (await gql.data(DECIDE, MANAGER, id=referral["id"]))["decideReferral"]["referral"]
        assert decided["status"] == "ACCEPTED"
        assert decided["decision"] == {
            "outcome": "ACCEPTED",
            "reason": "Three needs; the family consents",
            "decidedBy": "e2e-manager",
        }
        await gql.refused(DECIDE, MANAGER, "CONFLICT", id=referral["id"])  # decided once

        # 3. cases opens the case (referral.accepted → case.opened); the partner hears back through its referral
        async def linked() -> dict[str, Any]:
            return (await gql.data(REFERRAL, PARTNER, id=referral["id"]))["referral"]

        seen = await eventually(linked, lambda r: bool(r["familyId"] and r["caseId"]), what="family and case ids")
        family_id, case_id = seen["familyId"], seen["caseId"]
        assert seen["matchingStatus"] == "completed"
        await gql.refused(FAMILY, PARTNER, "FORBIDDEN", id=family_id)  # partners read nothing in cases
        family = (await gql.data(FAMILY, MANAGER, id=family_id))["family"]
        assert family["hub"] == HUB and family["currentCase"]["id"] == case_id
        assert family["currentCase"]["status"] == "OPEN"
        assert family["referrals"] == [{"id": referral["id"], "status": "ACCEPTED"}]
        members = {m["role"]: m["person"] for m in family["members"]}
        assert set(members) == {"CHILD", "PARENT_CARER"}
        assert members["CHILD"]["upn"] == upn_for(101) and members["CHILD"]["givenName"] == "Amara"
        pupil_id = members["CHILD"]["id"]

        # 4. the hub manager allocates the lead worker; a practitioner cannot see the case to allocate it
        lead_id = stack.workers["e2e-lead"]
        await gql.refused(ASSIGN, LEAD, "NOT_FOUND", case=case_id, worker=lead_id)
        await gql.refused(ASSIGN, ANALYST, "FORBIDDEN", case=case_id, worker=lead_id)
        case = (await gql.data(ASSIGN, MANAGER, case=case_id, worker=lead_id))["assignLeadWorker"]["case"]
        assert case["leadWorker"] == {"id": lead_id, "name": "Priya Shah"}
        me = (await gql.data(ME, LEAD))["me"]
        assert me["sub"] == "e2e-lead" and me["roles"] == ["PRACTITIONER"]
        assert me["worker"] == {"id": lead_id, "name": "Priya Shah"}
        assert [(c["id"], c["family"]["id"]) for c in me["caseload"]] == [(case_id, family_id)]
        other = (await gql.data(ME, OTHER_PRACTITIONER))["me"]
        # a practitioner with no case yet still has their worker record, and an empty caseload
        assert other["caseload"] == [] and other["worker"] == {"id": stack.workers["e2e-other"], "name": "Sam Ortiz"}

        # 5. the lead worker records the whole-family assessment
        assessment = {
            "needs": [
                {
                    "code": "education",
                    "descriptors": ["Persistent absence (10% or more of sessions missed)"],
                    "evidence": "79% this term",
                },
                {"code": "crime", "evidence": "Police contact with the older sibling"},
                {"code": "health", "evidence": "Parent's long-term condition untreated"},
            ],
            "strengths": "A close, loving family",
            "familyViews": "They want help with mornings",
            "childVoice": "Amara wants to go to school with her friends",
            "assessedOn": str(today),
        }
        await gql.refused(ASSESS, OTHER_PRACTITIONER, "NOT_FOUND", case=case_id, input=assessment)
        await gql.refused(ASSESS, ANALYST, "FORBIDDEN", case=case_id, input=assessment)
        assessed = (await gql.data(ASSESS, LEAD, case=case_id, input=assessment))["recordAssessment"]["case"]
        assert sorted(assessed["assessment"]["needs"]) == sorted(NEEDS)
        assert assessed["assessment"]["eligible"] is True and assessed["status"] == "PLAN"

        # ... and the plan, version by version
        plan_input: dict[str, Any] = {
            "goals": [{"need": n, "description": f"Progress on {n}"} for n in NEEDS],
            "actions": [
                {
                    "need": "education",
                    "description": "Morning routine support",
                    "ownerWorkerId": lead_id,
                    "dueOn": str(today + timedelta(weeks=4)),
                },
                {
                    "need": "health",
                    "description": "GP appointment",
                    "ownerAgency": "NHS-LEEDS",
                    "dueOn": str(today + timedelta(weeks=2)),
                    "status": "IN_PROGRESS",
                },
            ],
        }
        # the team around the family is its own, audited change (the lead worker's or a hub manager's)
        team_input = {
            "team": [{"workerId": stack.workers["e2e-other"], "role": "Family support worker"}],
            "reason": "School attendance support",
        }
        await gql.refused(TEAM, PARTNER, "FORBIDDEN", case=case_id, input=team_input)
        version = (await gql.data(CASE_VERSION, LEAD, family=family_id))["family"]["currentCase"]["version"]
        await gql.refused(TEAM, LEAD, "PRECONDITION_REQUIRED", case=case_id, input=team_input)
        team = (await gql.data(TEAM, LEAD, case=case_id, input=team_input, version=version))["updateTeam"]
        assert team["userErrors"] == [] and team["case"]["id"] == case_id and team["case"]["version"] == version + 1
        await gql.refused(PLAN, PARTNER, "FORBIDDEN", case=case_id, input=plan_input)
        first = (await gql.data(PLAN, LEAD, case=case_id, input=plan_input))["updatePlan"]["plan"]
        assert first["version"] == 1 and [g["need"] for g in first["goals"]] == list(NEEDS)
        education = next(g for g in first["goals"] if g["need"] == "education")
        assert education["actions"] == [
            {
                "description": "Morning routine support",
                "owner": lead_id,
                "dueOn": str(today + timedelta(weeks=4)),
                "status": "not_started",
            }
        ]
        assert first["teamAroundFamily"] == [{"role": "Family support worker", "worker": {"name": "Sam Ortiz"}}]
        review_due = str(today + timedelta(weeks=6))
        revised = {
            **plan_input,
            "changeSummary": "Review brought forward",
            "nextReviewDue": review_due,
        }
        second = (await gql.data(PLAN, LEAD, case=case_id, input=revised, version=1))["updatePlan"]["plan"]
        assert second["version"] == 2 and second["nextReviewDue"] == review_due
        stale = (await gql(PLAN, LEAD, case=case_id, input=revised, version=1))["data"]["updatePlan"]
        assert stale["plan"] is None and [e["code"] for e in stale["userErrors"]] == ["STALE_VERSION"]
        on_page = (await gql.data(CASE_PLAN, LEAD, family=family_id))["family"]["currentCase"]["plan"]
        assert on_page["version"] == 2  # the stale write lost nothing and changed nothing

        # ... and records contacts; a sensitive note is for the lead worker and managers, not the wider team
        visit = {"kind": "VISIT", "occurredAt": datetime.now(UTC).isoformat(), "note": "Home visit; mornings",
                 "sensitive": False}  # fmt: skip
        disclosure = {**visit, "kind": "CALL", "note": "Disclosure about the older sibling", "sensitive": True}
        await gql.refused(CONTACT, PARTNER, "FORBIDDEN", case=case_id, input=visit)
        added = (await gql.data(CONTACT, LEAD, case=case_id, input=visit))["addContact"]["contact"]
        assert added["kind"] == "visit" and added["note"] == "Home visit; mornings"
        # the portal retries a save whose answer it lost: the same idempotency key records the note once
        saved = [(await gql.data(CONTACT, LEAD, case=case_id, input=disclosure, key="draft-7f3a"))["addContact"]
                 for _ in range(2)]  # fmt: skip
        assert saved[0]["contact"]["id"] == saved[1]["contact"]["id"] and not saved[1]["userErrors"]
        reused = await gql(CONTACT, LEAD, case=case_id, input={**disclosure, "note": "Other"}, key="draft-7f3a")
        assert [(e["field"], e["code"]) for e in reused["data"]["addContact"]["userErrors"]] == [
            ("idempotencyKey", "INVALID")
        ]

        async def contacts(token: str) -> list[tuple[str, bool]]:
            found = (await gql.data(CONTACTS, token, family=family_id))["family"]["currentCase"]["contacts"]
            return sorted((c["note"], c["sensitive"]) for c in found)

        assert await contacts(LEAD) == [("Disclosure about the older sibling", True), ("Home visit; mornings", False)]
        assert await contacts(OTHER_PRACTITIONER) == [("Home visit; mornings", False)]

        # 6. outcomes enrolled the family (case.assessment_completed); the analyst loads the observations
        async def enrolled() -> dict[str, Any]:
            return await gql(EVALUATE, ANALYST, family=family_id, asOf=str(as_of))

        await eventually(enrolled, lambda b: not b["data"]["runEvaluation"]["userErrors"], what="enrolment")
        await time_passes(stack, family_id, start_months=13)  # assessed thirteen months ago
        rows: list[dict[str, Any]] = [
            {"kind": "ATTENDANCE", "personId": pupil_id, "termStart": str(start), "termEnd": str(end),
             "possibleSessions": 120, "attendedSessions": 113}
            for start, end in school_terms(today - timedelta(days=7))
        ]  # fmt: skip
        rows.append({"kind": "PRACTITIONER_ASSESSMENT", "familyId": family_id, "need": "health", "met": True,
                     "evidence": "GP letter: treatment plan followed", "assessedOn": str(today)})  # fmt: skip
        await gql.refused(OBSERVE, LEAD, "FORBIDDEN", rows=rows)
        await gql.refused(OBSERVE, AUDITOR, "FORBIDDEN", rows=rows)
        broken = (await gql(OBSERVE, ANALYST, rows=[{"kind": "ATTENDANCE", "personId": pupil_id}]))["data"]
        assert broken["recordObservations"]["report"] is None
        assert {e["code"] for e in broken["recordObservations"]["userErrors"]} == {"INVALID"}
        report = (await gql.data(OBSERVE, ANALYST, rows=rows))["recordObservations"]["report"]
        assert report["rows_loaded"] == 4 and report["errors"] == [], report

        # 7. evaluated: every need met; not yet claimable (the case is open, nothing sustained yet)
        await gql.refused(EVALUATE, LEAD, "FORBIDDEN", family=family_id, asOf=str(as_of))
        evaluation = (await gql.data(EVALUATE, ANALYST, family=family_id, asOf=str(as_of)))["runEvaluation"]
        assert evaluation["report"]["met"] == 3, evaluation
        progress = (await gql.data(PROGRESS, MANAGER, family=family_id))["family"]["progress"]
        assert {p["need"]: (p["met"], p["sustained"]) for p in progress} == {n: (True, False) for n in NEEDS}
        early = (await gql(CLAIM, ANALYST, family=family_id, asOf=str(as_of)))["data"]["createClaim"]
        assert early["claim"] is None and {e["field"] for e in early["userErrors"]} == {f"/needs/{n}" for n in NEEDS}

        # 8. the lead worker closes the case (with the case version); outcomes starts the sustainment clock
        # (the family support worker in the team around the family sees the case but may not close it)
        await gql.refused(CLOSE, OTHER_PRACTITIONER, "FORBIDDEN", case=case_id)
        version = (await gql.data(CASE_VERSION, LEAD, family=family_id))["family"]["currentCase"]["version"]
        await gql.refused(CLOSE, LEAD, "STALE_VERSION", case=case_id, version=version - 1)
        closed = (await gql.data(CLOSE, LEAD, case=case_id, version=version))["closeCase"]
        assert closed["case"]["status"] == "CLOSED" and closed["case"]["closedOn"] == str(today)
        assert closed["case"]["closureOutcome"] == "NEEDS_MET"

        # outcomes hears case.closed; seven months pass, so the 2022 framework's six months are sustained
        await eventually(lambda: closed_in_outcomes(stack, family_id), bool, what="closure in outcomes")
        await time_passes(stack, family_id, closed_months=7)

        async def sustained() -> list[dict[str, Any]]:
            await gql.data(EVALUATE, ANALYST, family=family_id, asOf=str(as_of))
            result: list[dict[str, Any]] = (await gql.data(PROGRESS, MANAGER, family=family_id))["family"]["progress"]
            return result

        await eventually(sustained, lambda p: all(n["sustained"] for n in p), what="sustained outcomes")

        # 9. the analyst claims; an auditor may not, and a second claim in the phase is refused
        await gql.refused(CLAIM, AUDITOR, "FORBIDDEN", family=family_id, asOf=str(as_of))
        await gql.refused(CLAIM, LEAD, "FORBIDDEN", family=family_id, asOf=str(as_of))
        key = f"claim-{family_id}"
        claim = (await gql.data(CLAIM, ANALYST, family=family_id, asOf=str(as_of), key=key))["createClaim"]["claim"]
        assert claim["status"] == "pending" and len(claim["evidenceHash"]) == 64
        assert claim["practitionerAssessed"] is True and claim["sampledForAudit"] is False
        # a retry whose answer was lost replays the claim; a new claim for the family in this phase is a conflict
        again = (await gql.data(CLAIM, ANALYST, family=family_id, asOf=str(as_of), key=key))["createClaim"]
        assert again["claim"] == claim and not again["userErrors"]
        await gql.refused(CLAIM, ANALYST, "CONFLICT", family=family_id, asOf=str(as_of))

        # 10. the auditor samples for local audit and validates; the analyst may do neither
        await gql.refused(SAMPLE, ANALYST, "FORBIDDEN")
        sample = (await gql.data(SAMPLE, AUDITOR))["sampleClaimsForAudit"]["sample"]
        assert sample["population"] >= 1 and claim["id"] in sample["claimIds"]
        await gql.refused(VALIDATE, ANALYST, "FORBIDDEN", id=claim["id"])
        validated = (await gql.data(VALIDATE, AUDITOR, id=claim["id"]))["validateClaim"]["claim"]
        assert validated["status"] == "validated" and validated["decidedBy"] == "story-auditor@LCC"
        assert validated["sampledForAudit"] is True
        await gql.refused(VALIDATE, AUDITOR, "CONFLICT", id=claim["id"])
        listed = (await gql.data(CLAIMS, AUDITOR))["claims"]["nodes"]
        assert (claim["id"], "validated") in [(c["id"], c["status"]) for c in listed]
