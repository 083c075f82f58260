"""Evaluation: the rule kinds (`rules/`), the set-based evaluation (sharded for a cohort), and progress."""
