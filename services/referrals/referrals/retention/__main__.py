"""`python -m referrals.retention [--dry-run] [--as-of DATE]`: the referrals service's retention run (its CronJob)."""

from referrals.models import platform, retention
from referrals.retention.sources import retention_sources
from shared.retention.job import main

main("referrals", retention_sources, retention, platform)
