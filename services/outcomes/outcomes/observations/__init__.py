"""Observations: attendance, incidents, status periods and practitioner assessments, loaded as JSON or CSV."""
