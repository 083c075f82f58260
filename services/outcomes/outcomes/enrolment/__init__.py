"""Enrolment: the families cases assessed (`case.assessment_completed`) and closed (`case.closed`)."""
