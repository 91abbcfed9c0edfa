"""Django's Redis cache backend, with one redis-py client per connection pool instead of one per call.

Django's client builds a `redis.Redis` around its pool at every cache call, and building one copies
redis-py's table of response callbacks: about 600 Python calls per get or set, and a poll makes half a
dozen cache calls (rate-limit gate, read budget, daily statistics versions). The client keeps no state
of its own besides the pool, which is thread-safe and renews its connections after a fork, so the one
built first is reused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

if TYPE_CHECKING:
    from redis import ConnectionPool, Redis


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._built: dict[int, tuple[ConnectionPool, Redis]] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # Django's own helper, not in the stubs
        built = self._built.get(id(pool))
        if built is None or built[0] is not pool:
            built = self._built[id(pool)] = (pool, self._client(connection_pool=pool))  # type: ignore[attr-defined]  # as above
        return built[1]


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
