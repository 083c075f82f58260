"""`earlyhelp hubs load FILE` and `earlyhelp hubs show`: the council's hub postcode mapping, through the referrals
service's admin API (`PUT`/`GET /v1/admin/hub-mapping`, admin token), so the change is audited under the admin's
name and the next referral is allocated by it, with no restart.

FILE has the shape of `examples/hub-mapping/leeds.json`: hub name → list of postcode districts; keys starting with
`_` are comments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from earlyhelp.platform import REFERRALS

hubs_app = typer.Typer(help="The hub postcode mapping: which hub takes each postcode district.", no_args_is_help=True)
TIMEOUT_SECONDS = 30.0
TokenOption = Annotated[str | None, typer.Option(envvar="EARLYHELP_TOKEN", help="Bearer token with the admin role")]
UrlOption = Annotated[str, typer.Option("--referrals-url", help="Base URL of the referrals service")]


def mapping_body(path: Path) -> dict[str, Any]:
    """The PUT body for a mapping file: its hubs, without the `_` comment keys."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read {path} as JSON: {exc}", param_hint="FILE") from exc
    if not isinstance(raw, dict):
        raise typer.BadParameter("the file holds one JSON object: hub name → list of districts", param_hint="FILE")
    return {"hubs": {hub: districts for hub, districts in raw.items() if not str(hub).startswith("_")}}


def _call(method: str, url: str, token: str | None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    if not token:
        raise typer.BadParameter("an admin token is needed (or set EARLYHELP_TOKEN)", param_hint="--token")
    try:
        response = httpx.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        typer.echo(f"error: the referrals service did not answer ({exc})", err=True)
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:500]}
        typer.echo(f"error: HTTP {response.status_code}: {problem.get('detail', '')}", err=True)
        for error in problem.get("errors") or []:
            typer.echo(f"  {error.get('pointer')}: {error.get('detail')}", err=True)
        raise typer.Exit(1)
    answer: dict[str, Any] = response.json()
    return answer


def _summary(mapping: dict[str, Any]) -> str:
    hubs = ", ".join(f"{hub} ({len(ds)})" for hub, ds in mapping["hubs"].items())
    counts = f"{mapping['districts']} districts in {len(mapping['hubs'])} hubs"
    return f"{counts}: {hubs}; default hub {mapping['default_hub']}"


@hubs_app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="The mapping: hub name → list of postcode districts (JSON)")],
    token: TokenOption = None,
    referrals_url: UrlOption = REFERRALS.url,
) -> None:
    """Replace the hub postcode mapping with FILE's (admin; audited; the next referral uses it)."""
    mapping = _call("PUT", f"{referrals_url}/v1/admin/hub-mapping", token, mapping_body(file))
    typer.echo(f"loaded {file}: {_summary(mapping)}")


@hubs_app.command("show")
def show_command(
    token: TokenOption = None,
    referrals_url: UrlOption = REFERRALS.url,
    as_json: Annotated[bool, typer.Option("--json", help="Print the mapping as JSON")] = False,
) -> None:
    """Print the hub postcode mapping in force."""
    mapping = _call("GET", f"{referrals_url}/v1/admin/hub-mapping", token)
    typer.echo(json.dumps(mapping, indent=2) if as_json else _summary(mapping))
