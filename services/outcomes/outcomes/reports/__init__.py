"""Reports: the pseudonymised cohort report (counts only)."""
