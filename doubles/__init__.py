"""Platform API doubles: small loopback HTTP servers that speak each platform's real wire format.

Used by the tests (started on a free port) and by `make demo` (fed by the scenario generator), so the
real connector code and the real client libraries are exercised end to end.
"""
