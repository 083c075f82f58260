"""Where the conformance tests find the command-line tools they run (installed by `make test`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def tool(name: str, *, installed_by: str) -> str:
    """The path of a command-line tool the tests need; fails (never skips) when it is missing."""
    found = shutil.which(name) or shutil.which(name, path=f"{Path(sys.executable).parent}:{REPO / '.venv/tools/bin'}")
    if found is None:
        pytest.fail(f"{name} is not installed, so this check cannot run: {installed_by}", pytrace=False)
    return found
