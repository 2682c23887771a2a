"""Tests that need a broker they never stop use the Redis that MILES_TEST_REDIS_URL names (CI sets it), one
test at a time and emptied first; a test that finds it taken gets a private server, never a shared queue."""

from __future__ import annotations

import os

import pytest
import redis

from tests.integration.workers import RedisServer, SharedRedis, broker_redis

URL = os.environ.get("MILES_TEST_REDIS_URL")
needs_url = pytest.mark.skipif(not URL, reason="MILES_TEST_REDIS_URL is not set")


@needs_url
def test_a_test_needing_a_broker_gets_the_redis_the_environment_names_emptied() -> None:
    assert URL is not None
    with broker_redis() as first:
        assert isinstance(first, SharedRedis)
        assert first.url == URL
        assert redis.Redis.from_url(URL).dbsize() == 1  # its lock, nothing left by earlier tests
        redis.Redis.from_url(URL).rpush("default", "a job")
    assert redis.Redis.from_url(URL).dbsize() == 0  # nothing left for the next test either


@needs_url
def test_a_second_test_at_the_same_time_gets_a_private_redis() -> None:
    assert URL is not None
    with broker_redis() as first, broker_redis() as second:
        assert isinstance(first, SharedRedis)
        assert isinstance(second, RedisServer)
        assert second.url != URL
        assert redis.Redis.from_url(second.url).ping()
