"""Outcome frameworks as data: the built-in files, a council's own versions, and the active framework."""
