"""Writes to the registry. Every change goes through a function here and leaves an audit row."""
