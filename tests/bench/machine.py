"""What the figures were measured on: the machine from /proc, its load, the versions."""

from __future__ import annotations

import platform
import re
import sqlite3
import subprocess
from importlib.metadata import version
from pathlib import Path

from portal import PROJECT_ROOT


def cores() -> int:
    return len(re.findall(r"^processor\s*:", Path("/proc/cpuinfo").read_text(), re.M))


def cpu_model() -> str:
    found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def memory_gb() -> float:
    kb = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    return int(kb.group(1)) / 1024 / 1024 if kb else 0.0


def load() -> str:
    """1, 5 and 15-minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _run(*command: str) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT).stdout
    except OSError:
        return ""


def commit() -> str:
    return _run("git", "rev-parse", "--short", "HEAD").strip() or "unknown"


def uncommitted() -> list[str]:
    """The application files that differ from the commit: measured as they stood."""
    lines = _run("git", "status", "--porcelain", "--", "portal", "templates", "translations").splitlines()
    return sorted(line.split(maxsplit=1)[1] for line in lines if line.strip())


def wrk_version() -> str:
    return _run("wrk", "-v").strip().split(" [")[0] or "not installed"


def postgres_version() -> str:
    from tests.bench.servers import POSTGRES_ADMIN_URL

    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0].split()[0]}" if row else "PostgreSQL"
    except Exception:
        return "PostgreSQL not reachable"


def versions() -> str:
    return ", ".join(
        (
            f"Python {platform.python_version()}",
            f"SQLite {sqlite3.sqlite_version}",
            postgres_version(),
            f"gunicorn {version('gunicorn')}",
            f"Flask {version('flask')}",
            wrk_version(),
        )
    )
