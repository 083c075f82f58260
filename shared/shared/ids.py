"""Batch lookups take their ids as one comma-separated query parameter: `?ids=<uuid>,<uuid>`."""

from __future__ import annotations

import uuid

from shared.errors import UnprocessableContent, field_error

MAX_IDS = 100


def parse_ids(raw: str | None, name: str = "ids", *, limit: int = MAX_IDS) -> list[uuid.UUID]:
    """The distinct UUIDs of a comma-separated parameter, in order; none when it is absent.

    More than `limit` ids, or a part that is not a UUID, is a 422 pointing at the parameter.
    """
    if raw is None:
        return []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > limit:
        raise UnprocessableContent(
            f"At most {limit} ids per call", errors=[field_error(f"#query/{name}", f"at most {limit} ids")]
        )
    try:
        return list(dict.fromkeys(uuid.UUID(p) for p in parts))
    except ValueError as exc:
        raise UnprocessableContent(
            f"{name} must be comma-separated UUIDs", errors=[field_error(f"#query/{name}", "comma-separated UUIDs")]
        ) from exc
