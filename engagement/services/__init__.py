"""Writes of the engagement app: automatic triage on ingest (`auto_triage`), people's triage actions
(`triage_actions`), feedback, API tokens."""
