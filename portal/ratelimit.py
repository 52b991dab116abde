"""Fixed-window rate limits, shared through Redis when PORTAL_REDIS_URL is set.

Keys are hashed, so neither IP addresses nor phone numbers are stored in the clear.
Redis is an accelerator, never a single point of failure: while it cannot be reached,
each process counts on its own (limits still hold, per process) and /healthz says so.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from flask import current_app

from portal.crypto import vault

log = logging.getLogger(__name__)
RETRY_REDIS_AFTER = 5.0  # seconds without trying Redis again after it failed


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1) if redis_url else None
        )
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._redis_failed_at: float | None = None

    def allow(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one attempt; False once `limit` attempts fell in the current window."""
        window = int(time.time() // window_seconds)
        bucket = f"portal:rate:{vault().blind_index(key)}:{window}"
        count = self._count_in_redis(self._redis, bucket, window_seconds) if self._redis is not None else None
        if count is None:
            with self._lock:
                count = self._counts.get(bucket, 0) + 1
                self._counts[bucket] = count
                if len(self._counts) > 100_000:  # forget old windows
                    self._counts = {bucket: count}
        return count <= limit

    def _count_in_redis(self, shared: redis.Redis, bucket: str, window_seconds: int) -> int | None:
        """The shared count, or None while Redis cannot be reached (retried every few seconds)."""
        if self._redis_failed_at is not None and time.monotonic() - self._redis_failed_at < RETRY_REDIS_AFTER:
            return None
        try:
            pipe = shared.pipeline()
            pipe.incr(bucket)
            pipe.expire(bucket, window_seconds)
            count = int(pipe.execute()[0])
        except redis.RedisError as error:
            if self._redis_failed_at is None:
                log.error(
                    "rate limits: Redis unreachable (%s); counting in this process", type(error).__name__
                )
            self._redis_failed_at = time.monotonic()
            return None
        if self._redis_failed_at is not None:
            log.warning("rate limits: Redis reachable again")
            self._redis_failed_at = None
        return count

    def redis_state(self) -> str | None:
        """For /healthz: None without Redis, "ok", or "degraded" (counting per process)."""
        if self._redis is None:
            return None
        try:
            self._redis.ping()
        except redis.RedisError:
            return "degraded"
        return "ok"


def allow(key: str, limit: int, window_seconds: int) -> bool:
    limiter: RateLimiter = current_app.extensions["rate_limiter"]
    return limiter.allow(key, limit, window_seconds)
