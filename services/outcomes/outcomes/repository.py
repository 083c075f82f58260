"""The base of every repository of the outcomes service: `shared.repository.Repository` on this service's tables."""

from __future__ import annotations

from outcomes.models import platform
from shared import repository


class Repository(repository.Repository):
    """A outcomes domain's queries over the request's session; the access log goes to this database."""

    platform = platform
