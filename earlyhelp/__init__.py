"""The `earlyhelp` command: runs, migrates, seeds and inspects the whole platform."""
