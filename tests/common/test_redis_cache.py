from django.core.cache import cache


def test_the_redis_cache_reuses_one_client_per_pool_and_still_reads_what_it_wrote():
    cache.set("chorus:test:reused", {"value": 1}, timeout=30)
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]  # the Redis backend's client
    assert cache._cache.get_client(write=True) is client  # type: ignore[attr-defined]  # as above
    assert type(cache._cache).__name__ == "ReusedClientRedisCacheClient"  # type: ignore[attr-defined]  # as above
    assert cache.get("chorus:test:reused") == {"value": 1}
    cache.delete("chorus:test:reused")
    assert cache.get("chorus:test:reused") is None
