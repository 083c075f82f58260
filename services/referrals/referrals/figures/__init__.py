"""Aggregated, pseudonymised triage figures for the data team's cohort report (no ids, no names)."""
