"""`python -m outcomes.retention [--dry-run] [--as-of DATE]`: the outcomes service's retention run (its CronJob)."""

from outcomes.models import platform, retention
from outcomes.retention.sources import retention_sources
from shared.retention.job import main

main("outcomes", retention_sources, retention, platform)
