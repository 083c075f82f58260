"""The committed SDL matches the code, breaking changes are detected, and every type and field is documented."""

from __future__ import annotations

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, build_schema

from gateway.schema_check import SDL_PATH, compare, current_sdl
from gateway.schema_check import main as schema_check_main


def test_committed_sdl_matches_the_code() -> None:
    assert SDL_PATH.read_text() == current_sdl(), "schema drift: run `python -m gateway.schema_check --write`"


def test_schema_check_command_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_check_main([]) == 0
    assert "no breaking changes" in capsys.readouterr().out


def test_removing_a_field_is_a_breaking_change() -> None:
    sdl = current_sdl()
    changed = sdl.replace('  """The family\'s postcode."""\n  postcode: String\n', "", 1)
    assert changed != sdl
    report = compare(sdl, changed)
    assert report.drift
    assert any("Family.postcode was removed" in line for line in report.breaking)


def test_adding_an_optional_field_is_not_breaking() -> None:
    sdl = current_sdl()
    changed = sdl.replace(
        "type Family implements Node {\n", 'type Family implements Node {\n  """New."""\n  nickname: String\n', 1
    )
    report = compare(sdl, changed)
    assert report.drift and not report.breaking


def test_changing_an_argument_type_is_breaking() -> None:
    sdl = current_sdl()
    at = sdl.index("triageQueue(")  # its arguments are described, so the SDL prints one per line
    changed = sdl[:at] + sdl[at:].replace("hubId: String!", "hubId: Int!", 1)
    assert changed != sdl
    assert any("Query.triageQueue(hubId:)" in line for line in compare(sdl, changed).breaking)


def test_every_type_and_field_is_documented() -> None:
    schema = build_schema(current_sdl())
    missing: list[str] = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not named.description:
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInputObjectType):
            missing.extend(f"{name}.{f}" for f, field in named.fields.items() if not field.description)
        if isinstance(named, GraphQLEnumType) and not named.description:
            missing.append(name)
    assert missing == []


def test_a_decision_reads_as_decision_and_its_old_name_outcome_is_deprecated() -> None:
    decision = build_schema(current_sdl()).type_map["Decision"]
    assert isinstance(decision, GraphQLObjectType)
    assert decision.fields["decision"].deprecation_reason is None
    reason = decision.fields["outcome"].deprecation_reason
    assert reason is not None and "`decision`" in reason


def test_the_referral_inputs_share_one_base_that_the_schema_does_not_name() -> None:
    from gateway.types.inputs import MaternityReferralInput, PartnerReferralInput, ReferralInput, SchoolReferralInput

    schema = build_schema(current_sdl())
    common = ["externalReference", "referrer", "needs", "reason", "consent", "safeguardingConcern", "lawfulBasis"]
    for kind in (MaternityReferralInput, SchoolReferralInput, PartnerReferralInput):
        assert issubclass(kind, ReferralInput)
        graphql_type = schema.type_map[kind.__name__]
        assert isinstance(graphql_type, GraphQLInputObjectType)
        assert list(graphql_type.fields)[: len(common)] == common, kind.__name__
    assert "ReferralInput" not in schema.type_map
