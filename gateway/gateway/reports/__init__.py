"""Reports composed from the services' APIs: the cohort report (data, HTML rendering, the HTTP route)."""

from gateway.reports.cohort import CLAIM_STATUSES, CohortData, aggregate_claims, aggregate_referrals, collect
from gateway.reports.render import CONTENT_SECURITY_POLICY, DECISION_BINS, build_html

__all__ = [
    "CLAIM_STATUSES",
    "CONTENT_SECURITY_POLICY",
    "DECISION_BINS",
    "CohortData",
    "aggregate_claims",
    "aggregate_referrals",
    "build_html",
    "collect",
]
