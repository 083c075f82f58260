"""The Early Help Platform's common package.

Everything the three services and the gateway share lives here: settings, database sessions, problem+json
errors, JWT auth, the hash-chained audit log, the transactional outbox and inbox, identifier validation,
logging, health checks and the pytest fixtures. Nothing here imports a service.
"""
