"""gunicorn's settings, read from the working directory (the repository's root) whenever
gunicorn starts here without `--config`: its own lines are JSON lines too.

Production runs `gunicorn 'portal:create_app()'` from this directory. The app logs one
line per request itself (portal/logs.py), with the route rule rather than the path and
no query string, so gunicorn's access log stays off even when asked for.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from portal import logs


class JsonLogger(Logger):
    """gunicorn's own lines (starting, booting a worker, a worker's timeout) as the app's
    are: JSON, personal data masked; still to where --error-logfile says (stderr)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(logs.JsonLines())

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        # "Error handling request GET /path?query" (an error page that failed too): the
        # query string can hold what a form sent.
        args = tuple(arg.split("?", 1)[0] if isinstance(arg, str) else arg for arg in args)
        super().exception(msg, *args, **kwargs)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        """Off: its line holds the raw path and query string, and the app logs each request."""


logger_class = JsonLogger
