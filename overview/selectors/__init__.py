"""Reads of the overview. The caller authorizes the unit it passes (through
`accounts_registry.selectors.get_unit_for_user` or the user's own roots); everything below it is in scope."""
