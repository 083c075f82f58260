"""Production refuses development secrets; identifiers are validated with the field's own rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from referrals.config import Settings as ReferralsSettings
from shared.identifiers import (
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    normalise_urn,
    postcode_district,
    with_nhs_check_digit,
)
from shared.settings import DEV_EVENT_SECRET, ServiceSettings

PRODUCTION_OK = {
    "environment": "production",
    "database_url": "postgresql://db/app",
    "jwt_issuer": "https://login.council.gov.uk/",
    "jwks_url": "https://login.council.gov.uk/jwks.json",
    "event_secret": "whsec_cHJvZHVjdGlvbi1zZWNyZXQtdGhhdC1pcy1sb25n",
}

REFERRALS_IN_CLUSTER = PRODUCTION_OK | {"cases_url": "http://cases:8002", "outcomes_url": "http://outcomes:8003"}


def test_production_settings_accept_real_values() -> None:
    assert ServiceSettings(**PRODUCTION_OK).is_production


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"event_secret": DEV_EVENT_SECRET}, "event_secret"),
        ({"event_secret": "whsec_change-me"}, "event_secret"),
        ({"jwt_issuer": "https://dev.earlyhelp.invalid/"}, "jwt_issuer"),
        ({"jwks_url": None}, "jwks_url"),
        ({"jwks_url": "http://login.council.gov.uk/jwks.json"}, "https"),
        ({"dev_key_path": "/tmp/key.pem"}, "dev_key_path"),
        ({"database_url": ""}, "database_url"),
    ],
)
def test_production_refuses_development_secrets_and_names_them(override: dict[str, object], named: str) -> None:
    with pytest.raises(ValidationError) as info:
        ServiceSettings(**(PRODUCTION_OK | override))
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"cases_url": "http://cases.council.gov.uk"}, "cases_url must use https"),
        ({"outcomes_url": "http://localhost:8003"}, "outcomes_url must use https"),
        ({"outcomes_url": "http://127.0.0.1:8003"}, "outcomes_url must use https"),
        ({"cases_url": "https://svc:secret@cases.council.gov.uk"}, "cases_url must not carry credentials"),
        ({"cases_url": "ftp://cases"}, "cases_url must be an http(s) URL"),
        ({"otlp_endpoint": "http://collector.example.org:4318/v1/traces"}, "otlp_endpoint must use https"),
        (
            {"subscribers": [{"name": "crm", "url": "http://crm.example.org/hook", "event_types": ["x"]}]},
            "subscribers[crm].url must use https",
        ),
    ],
)
def test_production_refuses_insecure_outbound_urls_at_start(override: dict[str, object], named: str) -> None:
    """Every URL a production process sends tokens, personal data or events to is https, or plain http to a
    Service inside the cluster (checked at start, not on the first request)."""
    with pytest.raises(ValidationError) as info:
        ReferralsSettings(**(REFERRALS_IN_CLUSTER | override))
    assert named in str(info.value)
    assert str(info.value).count("must") == 1, "only the overridden URL is refused"


@pytest.mark.parametrize(
    "url",
    [
        "http://cases:8002",
        "http://cases.earlyhelp.svc:8002",
        "http://cases.earlyhelp.svc.cluster.local:8002",
        "http://10.0.3.7:8002",
        "https://cases.council.gov.uk",
    ],
)
def test_production_accepts_https_and_in_cluster_http(url: str) -> None:
    subscribers = [{"name": "cases", "url": f"{url}/v1/events", "event_types": ["referral.accepted"]}]
    settings = ReferralsSettings(
        **(PRODUCTION_OK | {"cases_url": url, "outcomes_url": url, "subscribers": subscribers})
    )
    assert dict(settings.outbound_urls())["subscribers[cases].url"] == f"{url}/v1/events"


def test_development_allows_the_development_key() -> None:
    assert not ServiceSettings(environment="development").is_production


@pytest.mark.parametrize(("raw", "normal"), [("943 476 5919", "9434765919"), ("943-476-5919", "9434765919")])
def test_nhs_number_normalised(raw: str, normal: str) -> None:
    assert normalise_nhs_number(raw) == normal


@pytest.mark.parametrize("bad", ["9434765918", "123", "abcdefghij", ""])
def test_nhs_number_check_digit(bad: str) -> None:
    with pytest.raises(ValueError, match="NHS number"):
        normalise_nhs_number(bad)


def test_upn_check_letter() -> None:
    assert normalise_upn("H801200001001") == "H801200001001"
    with pytest.raises(ValueError, match="UPN"):
        normalise_upn("A801200001001")


@pytest.mark.parametrize(
    ("raw", "normal", "district"),
    [
        ("ls1 4ab", "LS1 4AB", "LS1"),
        ("L84XX", "L8 4XX", "L8"),
        ("SW1A1AA", "SW1A 1AA", "SW1A"),
        ("ls27 9pq", "LS27 9PQ", "LS27"),
    ],
)
def test_postcode(raw: str, normal: str, district: str) -> None:
    assert normalise_postcode(raw) == normal
    assert postcode_district(raw) == district


@pytest.mark.parametrize("bad", ["LS1", "12345", "QQ1 1AA", "LS1 4AB X", ""])
def test_bad_postcode(bad: str) -> None:
    with pytest.raises(ValueError, match="postcode"):
        normalise_postcode(bad)


def test_school_urn() -> None:
    assert normalise_urn("107950") == "107950"
    for bad in ("12345", "1234567", "0123456", "abcdef", "012345"):
        with pytest.raises(ValueError, match="URN"):
            normalise_urn(bad)


@pytest.mark.parametrize(
    ("body", "number"),
    [
        ("943476591", "9434765919"),  # NHS England's published example
        ("000000000", "0000000000"),  # remainder 0: check value 11 is written 0
        ("000000006", None),  # 6 x 2 = 12, remainder 1: check value 10, no NHS number has this body
    ],
)
def test_synthetic_nhs_numbers_get_the_modulus_11_check_digit(body: str, number: str | None) -> None:
    assert with_nhs_check_digit(body) == number
