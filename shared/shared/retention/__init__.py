"""Retention: the schedule (data), the run that erases what is due, tombstones, legal holds, audit pruning.

* `schedule` — the retention rules per record type, loaded from YAML a council can replace;
* `tables` — the tombstones, legal holds and audit checkpoints every service carries;
* `engine` — `run_retention`: asks each `RetentionSource` of a service for what is due on a clock, keeps what
  is under a legal hold, erases the rest and leaves a tombstone (no personal data) and an audit row for each;
* `audit_prune` — checkpoints the hash chain and prunes old access-log rows, so verification still holds;
* `outbox` — published events past their period (their payloads carry personal data);
* `admin` — `POST /v1/admin/retention/run` and the legal-hold replica's event handlers.
"""
