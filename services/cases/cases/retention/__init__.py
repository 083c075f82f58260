"""Retention of the cases service: families whose time is up, legal holds, and the run's admin call."""
