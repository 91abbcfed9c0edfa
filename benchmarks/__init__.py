"""`make bench`: monitoring scale benchmarks that print figures and whether each target is met.

Run with `make bench` (or `python -m benchmarks` with DATABASE_URL and REDIS_URL pointing at loopback
services). Every scenario works in the run's own scratch database, `chorus_bench_<pid>`, created and
dropped by the run; see benchmarks/README.md for what each figure means.
"""
