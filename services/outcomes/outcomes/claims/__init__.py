"""Payment-by-results claims: claiming, the audit sample, the auditor's decision and the export."""
