"""Headless Chromium for the report tests: the DOM of an offline HTML page after its scripts ran."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def dump_dom(page: Path) -> str:
    """The page's DOM as Debian's chromium leaves it after running its scripts (a failure, never a skip, when
    chromium is not installed)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (/usr/bin/chromium): `apt-get install -y chromium`")
    run = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout
