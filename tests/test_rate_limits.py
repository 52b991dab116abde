"""Rate limits hold per key, and across app instances when they share Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import create_app
from portal.ratelimit import RateLimiter
from tests.conftest import make_environ


def limiter_of(tmp_path: Path, redis_url: str | None):  # type: ignore[no-untyped-def]
    overrides = {"PORTAL_REDIS_URL": redis_url} if redis_url else {}
    app = create_app({"TESTING": True}, environ=make_environ(tmp_path, **overrides, PORTAL_HASH_KEY="shared"))
    return app, app.extensions["rate_limiter"]


def test_in_memory_limits_count_per_key(tmp_path: Path) -> None:
    app, limiter = limiter_of(tmp_path, None)
    with app.app_context():
        assert [limiter.allow("code-phone:a", 3, 60) for _ in range(4)] == [True, True, True, False]
        assert limiter.allow("code-phone:b", 3, 60), "another phone has its own count"


@pytest.mark.redis
def test_two_instances_share_their_counts_through_redis(tmp_path: Path, redis_url: str) -> None:
    first_app, first = limiter_of(tmp_path / "one", redis_url)
    second_app, second = limiter_of(tmp_path / "two", redis_url)
    assert isinstance(first, RateLimiter)
    with first_app.app_context():
        assert first.allow("start:203.0.113.9", 2, 60)
    with second_app.app_context():
        assert second.allow("start:203.0.113.9", 2, 60)
        assert not second.allow("start:203.0.113.9", 2, 60), "the second instance sees the first one's count"


@pytest.mark.redis
def test_keys_are_stored_hashed(tmp_path: Path, redis_url: str) -> None:
    import redis

    app, limiter = limiter_of(tmp_path, redis_url)
    with app.app_context():
        limiter.allow("code-phone:+13145550100", 5, 60)
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*")]
    assert keys and all("5550100" not in key for key in keys)


def test_behind_a_proxy_limits_count_each_visitor_not_the_proxy(tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False},
        environ=make_environ(tmp_path, PORTAL_TRUSTED_PROXIES="1"),
    )
    with app.app_context():
        upgrade()
    client = app.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for visitor in range(12):  # more visitors than one address may start plans in an hour
        headers = {"X-Forwarded-For": f"203.0.113.{visitor}"}
        response = client.post(
            "/crisis-plan/start", data={"action": "new"}, headers=headers, environ_base=proxy
        )
        assert response.status_code == 302, visitor
