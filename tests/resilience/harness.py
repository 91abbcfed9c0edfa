"""Setting a world up for the cases: accounts registered, stage A polled to completion by the real worker
and beat, then people's decisions taken (handled, dismissed, assigned, notes) — the processes keep running
into the cases, each of which adds its own stage of traffic."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from tests.resilience.cases import Stack, Timing, converge

if TYPE_CHECKING:
    from pathlib import Path

    from tests.resilience.services import ThrowawayRedis
    from tests.resilience.world import World

# The batch (claims waiting for the one worker, concurrency 2) is what it polls in a fraction of a lease even on
# a busy machine (about one poll a second at a load average of 10).
FAST = Timing(lease=15, interval=5, backoff=2.0, http_timeout=1.5, converge_timeout=240, batch=6)
FULL = Timing(
    lease=60, interval=20, backoff=5.0, http_timeout=8.0, converge_timeout=600, batch=20, x_search_sweep=False
)


def prepare(world: World, *, database_url: str, redis: ThrowawayRedis, timing: Timing, workdir: Path) -> Stack:
    world.seed_accounts()
    stack = Stack(world, database_url=database_url, redis=redis, timing=timing, workdir=workdir)
    try:
        stack.ensure()
        # Stage A is the backfill of the whole world, not a case: it gets three times a case's time.
        if not converge(world, dataclasses.replace(timing, converge_timeout=3 * timing.converge_timeout)):
            raise RuntimeError(f"stage A did not converge: {world.stored_count()} of {len(world.expected())}")
        world.take_human_decisions()
    except BaseException:  # interrupted too: never leave a worker or beat behind
        stack.stop()
        raise
    return stack
