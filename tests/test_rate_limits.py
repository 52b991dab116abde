"""Rate limits hold per key, and across app instances when they share Redis."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from portal import create_app
from portal.dispatch.models import CitRequest
from portal.extensions import db
from portal.ratelimit import RateLimiter
from portal.worker import beat
from tests.conftest import make_environ
from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import make_text_line_app, reply_text, send_text, wait_until


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
            "/crisis-plan/start",
            data={"action": "new", "confirmed": "1"},
            headers=headers,
            environ_base=proxy,
        )
        assert response.status_code == 302, visitor


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own on a free port, that the test may stop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    wait_until(lambda: _answers(client))
    yield url, server
    server.kill()
    server.wait()


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.mark.redis
def test_redis_stopped_mid_run_never_stops_the_text_line(
    own_redis: tuple[str, subprocess.Popen[bytes]], tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    url, server = own_redis
    app = make_text_line_app(tmp_path, fake_twilio, PORTAL_REDIS_URL=url)
    client = app.test_client()
    with app.app_context():
        beat("test-worker")
    assert client.get("/healthz").get_json()["redis"] == "ok"
    assert reply_text(send_text(client, "PIN 100 Main St", sender="+13145550200"))
    server.kill()
    server.wait()
    for number in range(10):
        response = send_text(client, f"PIN {number + 1} Oak St", sender=f"+131455502{number + 10}")
        assert response.status_code == 200 and "911" in reply_text(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CitRequest)) == 11
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["redis"] == "degraded"
