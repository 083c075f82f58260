"""`python -m cases.retention [--dry-run] [--as-of DATE]`: the cases service's retention run (its CronJob)."""

from cases.models import platform, retention
from cases.retention.sources import retention_sources
from shared.retention.job import main

main("cases", retention_sources, retention, platform)
