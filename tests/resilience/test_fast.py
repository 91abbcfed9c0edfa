"""The fast subset of `make resilience`, run by `make test`: one worker kill, one Redis restart without
persistence, and the platform fault matrix, on a small scenario with the same harness."""

import pytest

from tests.resilience import cases

pytestmark = pytest.mark.resilience_fast


def test_kill_redis_restart_and_platform_faults_lose_and_duplicate_nothing(small_stack):
    results = [
        cases.worker_kills(small_stack, kills=1),
        cases.redis_restart(small_stack, persistent=False),
        cases.platform_faults(small_stack),
    ]
    # The table shows the recovery times; the suite asserts what happened, never how fast (the time-to-recover
    # target, 1.5 leases, is asserted by `make resilience`, whose figures the README keeps).
    print("\n" + cases.table(results))
    for result in results:
        assert result.check.is_green, (result.case, result.check)
        assert not result.problems, (result.case, result.problems)
