"""Retention of the referrals service: the referral sources of the schedule, and the run's admin call."""
