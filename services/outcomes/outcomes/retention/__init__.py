"""Retention of the outcomes service: families past the programme's audit period, and the run's admin call."""
