"""The privacy notice every part of the platform serves at `/privacy`, without a token.

A council sets `*_PRIVACY_NOTICE_PATH` to its own notice (an HTML file), or `*_COUNCIL_NAME` and
`*_PRIVACY_CONTACT` to fill in the platform's default, which follows docs/privacy.md (purposes, data, lawful bases,
recipients, retention, rights). The OpenAPI descriptions, the portal guide and the FHIR CapabilityStatement point
here.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from shared.settings import ServiceSettings

TEMPLATE = Path(__file__).with_name("templates") / "privacy-notice.html"
PATH = "/privacy"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=300",
}
MAX_NOTICE = 262_144
"""A notice longer than this (256 KiB) is refused at start: it is a page for families to read."""
LINK = f"Privacy notice: `GET {PATH}` (how this service uses families' information and their rights)."


def privacy_notice(settings: ServiceSettings) -> str:
    """The notice this deployment serves: the council's own file, or the default filled in from the settings."""
    if settings.privacy_notice_path is not None:
        return settings.privacy_notice_path.read_text(encoding="utf-8")
    return (
        TEMPLATE.read_text(encoding="utf-8")
        .replace("{{council}}", html.escape(settings.council_name))
        .replace("{{contact}}", html.escape(settings.privacy_contact))
    )


def privacy_router(settings: ServiceSettings) -> APIRouter:
    """`GET /privacy`: the notice, read once when the app is built (a missing file fails the start, not a family)."""
    notice = privacy_notice(settings)
    if len(notice) > MAX_NOTICE:
        raise ValueError(f"the privacy notice is over {MAX_NOTICE} characters: {settings.privacy_notice_path}")
    router = APIRouter(tags=["privacy"])

    @router.get(
        PATH,
        response_class=HTMLResponse,
        responses={200: {"content": {"text/html": {"schema": {"type": "string", "maxLength": MAX_NOTICE}}}}},
        summary="The privacy notice (public)",
        description="How the council and its partners use families' information, and how to exercise each right.",
    )
    async def privacy() -> HTMLResponse:
        return HTMLResponse(notice, headers=HEADERS)

    return router
