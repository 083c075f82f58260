"""The base of every repository of the intelligence service: `shared.repository.Repository` on this service's tables."""

from __future__ import annotations

from intelligence.models import platform
from shared import repository


class Repository(repository.Repository):
    """A intelligence domain's queries over the request's session; the access log goes to this database."""

    platform = platform
