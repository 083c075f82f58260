"""The operators' configuration reference is generated from the settings classes and kept up to date."""

from __future__ import annotations

from pathlib import Path

from earlyhelp import configref

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "configuration.md"


def test_configuration_reference_is_up_to_date() -> None:
    assert REFERENCE.read_text() == configref.render(), (
        "docs/guides/configuration.md is stale: run `python -m earlyhelp.configref > docs/guides/configuration.md`"
    )


def test_every_setting_of_every_part_is_listed_with_a_description() -> None:
    assert configref.undocumented() == []
    text = REFERENCE.read_text()
    for part in configref.parts():
        for name in part.settings.model_fields:
            assert f"`{part.prefix}{name}`".upper() in text.upper()
    assert "`REFERRALS_DECISION_WORKING_DAYS` | integer | `3`" in text
    assert "`OUTCOMES_EVENT_SECRET` | string | development secret (refused in production)" in text
    assert "`INTELLIGENCE_MATCH_THRESHOLD` | number | `0.95`" in text


def test_every_service_and_the_gateway_has_its_part() -> None:
    """A service added under services/ (as intelligence was) must have its settings in the reference."""
    services = {p.parent.name for p in (REFERENCE.parents[2] / "services").glob("*/pyproject.toml")}
    assert services, "no services found"
    assert {part.name for part in configref.parts()} == services | {"gateway"}


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(configref.render().replace("HTTP port.", "A port."))
    assert configref.main(["--check", str(stale)]) == 1
    stale.write_text(configref.render())
    assert configref.main(["--check", str(stale)]) == 0
