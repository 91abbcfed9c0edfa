"""Writes of the engagement app: triage on ingest, human triage actions, feedback, API tokens."""
