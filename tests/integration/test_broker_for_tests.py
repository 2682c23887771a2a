"""Tests that need a broker they never stop use the Redis that MILES_TEST_REDIS_URL names (CI sets it), one
test at a time and emptied first; a test that finds it taken gets a private server, never a shared queue.

Here a private redis-server stands in for the shared one: another test run on the machine may hold the
machine's own test Redis at any moment, and must not change what these tests see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.integration.workers import RedisServer, SharedRedis, broker_redis, redis_server


@pytest.fixture
def shared_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with redis_server() as stand_in:
        url = f"redis://127.0.0.1:{stand_in.port}/15"
        monkeypatch.setenv("MILES_TEST_REDIS_URL", url)
        yield url


def test_a_test_needing_a_broker_gets_the_redis_the_environment_names_emptied(shared_url: str) -> None:
    redis.Redis.from_url(shared_url).rpush("default", "left by an earlier test")
    with broker_redis() as first:
        assert isinstance(first, SharedRedis)
        assert first.url == shared_url
        assert redis.Redis.from_url(shared_url).dbsize() == 1  # its lock, nothing left by earlier tests
        redis.Redis.from_url(shared_url).rpush("default", "a job")
    assert redis.Redis.from_url(shared_url).dbsize() == 0  # nothing left for the next test either


def test_a_second_test_at_the_same_time_gets_a_private_redis(shared_url: str) -> None:
    with broker_redis() as first, broker_redis() as second:
        assert isinstance(first, SharedRedis)
        assert isinstance(second, RedisServer)
        assert second.url != shared_url
        assert redis.Redis.from_url(second.url).ping()
