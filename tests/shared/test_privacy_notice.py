"""Every part of the platform serves the privacy notice at /privacy, without a token (docs/privacy.md)."""

from __future__ import annotations

from pathlib import Path

from earlyhelp.contract_checks import local_openapi
from shared.privacy import TEMPLATE
from tests.support import app_client


async def test_the_default_notice_names_the_council_and_the_contact(referrals_db: str) -> None:
    from referrals.app import create_app
    from referrals.config import Settings

    async with app_client(
        create_app, Settings, referrals_db, council_name="Leeds City Council & partners", privacy_contact="dpo@leeds"
    ) as client:
        response = await client.get("/privacy")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "Leeds City Council &amp; partners is the data controller" in response.text
    assert "dpo@leeds" in response.text and "{{" not in response.text
    for heading in ("What we hold", "lawful basis", "Who we share it with", "How long we keep it", "Your rights"):
        assert heading in response.text


async def test_a_council_serves_its_own_notice(cases_db: str, tmp_path: Path) -> None:
    from cases.app import create_app
    from cases.config import Settings

    own = tmp_path / "notice.html"
    own.write_text("<!DOCTYPE html><title>Liverpool early help privacy notice</title>", encoding="utf-8")
    async with app_client(create_app, Settings, cases_db, privacy_notice_path=own) as client:
        response = await client.get("/privacy")
    assert response.status_code == 200
    assert response.text == own.read_text()


async def test_the_gateway_serves_it_and_every_api_description_links_it() -> None:
    import httpx

    from gateway.app import create_app
    from gateway.config import Settings

    app = create_app(Settings(environment="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        response = await client.get("/privacy")
    assert response.status_code == 200 and "the council is the data controller" in response.text
    for part in ("gateway", "referrals", "cases", "outcomes"):
        document = local_openapi(part)
        assert "GET /privacy" in document["info"]["description"], part
        assert "/privacy" in document["paths"] and "security" not in document["paths"]["/privacy"]["get"], part
    assert TEMPLATE.exists()


async def test_the_fhir_capability_statement_points_at_it(referrals_db: str) -> None:
    from referrals.app import create_app
    from referrals.config import Settings

    async with app_client(create_app, Settings, referrals_db) as client:
        response = await client.get("/fhir/metadata")
    assert response.status_code == 200, response.text
    assert "GET /privacy" in response.json()["implementation"]["description"]
