"""What the figures were measured on: the machine from /proc, its load, the versions."""

from __future__ import annotations

import os
import platform
import re
import sqlite3
import subprocess
import threading
import time
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


def _busy_ticks() -> int:
    """Processor time all processes have used since boot, from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> int:
    """Processor time this process and everything it started have used, those ended
    included (counted into their parents once waited for)."""
    parents, times = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    own, total = os.getpid(), 0
    for pid, ticks in times.items():
        ancestor = pid
        while ancestor not in (own, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == own:
            total += ticks
    return total


class LoadWatch:
    """While a run lasts, every few seconds: the 1-minute load average, and how many cores
    other work used (all processor time less this run's own processes). PostgreSQL's
    server processes count as other work, serving this run's queries among others'."""

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = []
        self.others: list[float] = []  # cores used by other work, per interval
        self.at: list[float] = []  # when each interval ended (time.monotonic)
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        last = (time.monotonic(), _busy_ticks(), _own_ticks())
        while not self._stop.wait(self._every):
            now = (time.monotonic(), _busy_ticks(), _own_ticks())
            busy, own = now[1] - last[1], now[2] - last[2]
            self.others.append(max(0.0, (busy - own) / tick / (now[0] - last[0])))
            self.samples.append(float(load().split()[0]))
            self.at.append(now[0])
            last = now

    def between(self, start: float, end: float) -> float:
        """Cores other work used on average between two moments (time.monotonic)."""
        used = [
            cores for cores, at in zip(self.others, self.at, strict=True) if start < at <= end + self._every
        ]
        return sum(used) / len(used) if used else 0.0

    def __enter__(self) -> LoadWatch:
        self.samples.append(float(load().split()[0]))
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
