"""The logs of a real run hold no names, dates of birth or identifiers (real processes, log files scanned)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import template_name
from tests.referrals.conftest import hub_manager, maternity_payload, nhs_number, partner, person, school_payload
from tests.support import ServiceProcesses, clone_database, common_test_env, free_port

pytestmark = pytest.mark.e2e


async def test_logs_hold_no_personal_data(server_url: str, referrals_db: str, cases_db: str, tmp_path: Path) -> None:
    nhs = nhs_number()
    secrets = [
        "Xanthippe",
        "Quillfeather",
        "Zebedee",
        "Mockridge",
        "1991-07-23",
        nhs,
        f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
    ]
    processes = ServiceProcesses()
    async with (
        clone_database(server_url, template_name("referrals")) as referrals_url,
        clone_database(server_url, template_name("cases")) as cases_url,
    ):
        cases_port, referrals_port = free_port(), free_port()
        processes.add("cases", "cases.app:create_app", common_test_env("CASES", cases_url, cases_port), tmp_path,
                      port=cases_port)  # fmt: skip
        env = common_test_env("REFERRALS", referrals_url, referrals_port)
        env["REFERRALS_CASES_URL"] = processes["cases"].url
        env["REFERRALS_LOG_LEVEL"] = "DEBUG"
        processes["cases"].env["CASES_LOG_LEVEL"] = "DEBUG"
        processes.add("referrals", "referrals.app:create_app", env, tmp_path, port=referrals_port)
        try:
            await processes.start()
            async with httpx.AsyncClient(base_url=processes["referrals"].url, timeout=30) as client:
                parent = person("Xanthippe", "Quillfeather", nhs_number=nhs, postcode="LS6 1AA")
                parent["date_of_birth"] = "1991-07-23"
                body = maternity_payload(expectant_parent=parent, other_parent=person("Zebedee", "Mockridge"))
                headers = {**partner(), "Idempotency-Key": uuid.uuid4().hex}
                created = await client.post("/v1/referrals/maternity", json=body, headers=headers)
                assert created.status_code == 201, created.text
                rid = created.json()["id"]
                assert (await client.post("/v1/referrals/maternity", json=body, headers=headers)).status_code == 201
                # validation failures echo the bad value to the caller, but must not write it to the log
                bad = maternity_payload(expectant_parent={**parent, "nhs_number": nhs[:-1] + "0" * 1})
                bad["other_parent"] = person("Zebedee", "Mockridge", postcode="not a postcode Quillfeather")
                response = await client.post("/v1/referrals/maternity", json=bad, headers={**partner(),
                                             "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
                assert response.status_code == 422
                school = school_payload(pupil={**school_payload()["pupil"], "given_name": "Xanthippe"})
                response = await client.post("/v1/referrals/school", json=school, headers=partner("SCH-LS-001",
                                             "school"))  # fmt: skip
                assert response.status_code == 400  # no idempotency key: refused, and logged without the body
                manager = hub_manager("north")
                await client.post(f"/v1/referrals/{rid}/screening", json={"note": "Quillfeather family"},
                                  headers=manager)  # fmt: skip
                assert (await client.get(f"/v1/referrals/{rid}", headers=manager)).status_code == 200
                assert (await client.get(f"/v1/referrals?ids={rid}", headers=manager)).status_code == 200
        finally:
            processes.stop()
    logs = {name: (tmp_path / name).read_bytes().decode(errors="replace") for name in ("cases.log", "referrals.log")}
    assert "referral_received" in logs["referrals.log"], "the run was logged at all"
    leaks = [(name, s) for name, text in logs.items() for s in secrets if s in text]
    assert not leaks, f"personal data in the logs: {leaks}"
