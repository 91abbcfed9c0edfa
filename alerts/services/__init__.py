"""Alerts and reports, by job: `deliveries` (record, deduplicate, send, the daily summary), `events` (what
each kind of alert says and to whom), `triggers` (the ingest hook and the periodic sweep that raise them),
`reports` (the weekly digest and the monthly report)."""
