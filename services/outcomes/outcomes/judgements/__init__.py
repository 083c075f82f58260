"""A lead worker's professional judgement on a need whose rule is `practitioner_assessed`."""
