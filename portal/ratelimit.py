"""Fixed-window rate limits, shared through Redis when PORTAL_REDIS_URL is set.

Keys are hashed, so neither IP addresses nor phone numbers are stored in the clear.
"""

from __future__ import annotations

import threading
import time

import redis
from flask import current_app

from portal.crypto import vault


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2) if redis_url else None
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one attempt; False once `limit` attempts fell in the current window."""
        window = int(time.time() // window_seconds)
        bucket = f"portal:rate:{vault().blind_index(key)}:{window}"
        if self._redis is not None:
            pipe = self._redis.pipeline()
            pipe.incr(bucket)
            pipe.expire(bucket, window_seconds)
            count = int(pipe.execute()[0])
        else:
            with self._lock:
                count = self._counts.get(bucket, 0) + 1
                self._counts[bucket] = count
                if len(self._counts) > 100_000:  # forget old windows
                    self._counts = {bucket: count}
        return count <= limit


def allow(key: str, limit: int, window_seconds: int) -> bool:
    limiter: RateLimiter = current_app.extensions["rate_limiter"]
    return limiter.allow(key, limit, window_seconds)
