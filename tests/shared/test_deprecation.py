"""One mechanism for deprecated names: every request model field that still accepts an old name does so through
`shared.deprecation.AcceptsOldNames` (so a request using it gets the RFC 9745 `Deprecation` header, whatever the
endpoint), and docs/contracts.md ("Deprecated names", the page the `Link` header points at) lists it."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import AliasChoices, BaseModel, Field

from shared.deprecation import AcceptsOldNames, accepts_old_names, old_names, renamed, used_deprecated
from shared.middleware import PlatformMiddleware

CONTRACTS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"
APPS = ("referrals.app", "cases.app", "outcomes.app", "intelligence.app")


class Body(AcceptsOldNames):
    note: str = Field(validation_alias=renamed("note", "summary"))
    form: str | None = None


def _models() -> list[type[BaseModel]]:
    for name in APPS:
        importlib.import_module(name)
    found, todo = [], list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.split(".")[0] in {a.split(".")[0] for a in APPS}:
            found.append(model)
    return found


def test_every_old_name_goes_through_the_one_mechanism_and_is_listed() -> None:
    section = CONTRACTS.read_text().split("## Deprecated names", 1)[1].split("\n## ", 1)[0]
    seen = {}
    for model in _models():
        aliased = {n for n, f in model.model_fields.items() if isinstance(f.validation_alias, AliasChoices)}
        if aliased:
            assert issubclass(model, AcceptsOldNames), f"{model.__qualname__} accepts old names without noting them"
            for old, new in old_names(model).items():
                assert f"`{old}`" in section and f"`{new}`" in section, (model.__qualname__, old)
                seen[old] = new
    assert seen.get("outcome") == "decision"  # the referral decision body's


async def test_the_headers_come_only_with_a_request_that_used_an_old_name() -> None:
    app = FastAPI()

    @app.post("/things")
    async def things(body: Body) -> dict[str, str | None]:
        if body.form == "old":
            used_deprecated("form")
        return {"note": body.note}

    transport = httpx.ASGITransport(app=PlatformMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        new = await client.post("/things", json={"note": "x"})
        old = await client.post("/things", json={"summary": "x"})
        old_form = await client.post("/things", json={"note": "x", "form": "old"})
        after = await client.post("/things", json={"note": "x"})
    assert new.status_code == old.status_code == 200 and old.json() == {"note": "x"}
    assert "deprecation" not in new.headers and "deprecation" not in after.headers
    for answer in (old, old_form):
        assert answer.headers["deprecation"].startswith("@")
        assert answer.headers["link"].endswith('; rel="deprecation"; type="text/html"')


class Nested(BaseModel):
    items: list[Body] = []


class OldForm(AcceptsOldNames):
    old_forms = ("label",)
    code: str


class Plain(BaseModel):
    note: str


def test_a_body_accepts_old_names_through_its_own_or_a_nested_model() -> None:
    assert accepts_old_names(Body) and accepts_old_names(Nested) and accepts_old_names(OldForm | None)
    assert not accepts_old_names(Plain) and not accepts_old_names(list[Plain]) and not accepts_old_names(str)
