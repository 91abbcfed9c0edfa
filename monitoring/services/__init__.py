"""Writes of the monitoring app: ingesting messages, polling accounts, webhooks."""
