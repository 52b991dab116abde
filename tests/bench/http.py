"""The portal's public pages and signed webhook under gunicorn, each beside its ceiling,
on SQLite and on PostgreSQL. `python -m tests.bench.http` prints the figures."""

from __future__ import annotations

import logging
import os
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

from tests.bench import ceilings, load, machine, servers
from tests.fake_twilio import FakeTwilio

PAGES = ("/", "/ar/", "/how-to-call", "/vi/what-happens-next")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WEBHOOK_RATE = 100.0
WEBHOOK_SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "15"))
WARM_UP = 1  # seconds of wrk before each page's measure
WEBHOOK_WARM_UP = 2
MOST_SECONDS = 5


@dataclass
class HttpResults:
    database: str
    load_average: str  # when this part began
    page_ceiling: load.Throughput
    pages: list[load.Throughput] = field(default_factory=list)
    webhook_ceiling: load.Latency | None = None
    webhook: load.Latency | None = None
    # The most texts a second each answers, 8 senders posting as fast as answered.
    webhook_ceiling_most: float = 0.0
    webhook_most: float = 0.0


def pages(server: servers.Server, path: str) -> load.Throughput:
    """wrk on one page after a warm-up, with the server's processor time per page."""
    load.wrk(server.url + path, WARM_UP)
    before = server.cpu_seconds()
    measured = load.wrk(server.url + path, SECONDS)
    measured.cpu_ms = (server.cpu_seconds() - before) * 1000 / max(1, measured.requests)
    return measured


def webhook(server: servers.Server) -> load.Latency:
    """The open loop after a warm-up, with the server's processor time per text."""
    load.open_loop(server.url, servers.PUBLIC_URL, WEBHOOK_RATE, WEBHOOK_WARM_UP)
    before = server.cpu_seconds()
    measured = load.open_loop(server.url, servers.PUBLIC_URL, WEBHOOK_RATE, WEBHOOK_SECONDS)
    measured.cpu_ms = (server.cpu_seconds() - before) * 1000 / measured.sent
    return measured


def measure(kind: str, folder: Path) -> HttpResults:
    load_at_start = machine.load()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake Twilio's request log
    with ExitStack() as stack:
        fake = FakeTwilio().start()
        stack.callback(fake.stop)
        db = stack.enter_context(servers.database(kind, folder))
        environ = servers.bench_environ(db.url, fake.url)
        servers.migrate(environ)
        ceiling_database = str(folder / f"ceiling-{os.getpid()}.db") if kind == "sqlite" else db.raw
        ceilings.create_table(ceiling_database)
        log = folder / "gunicorn.log"
        portal = stack.enter_context(servers.gunicorn("portal:create_app()", environ, log))
        page_ceiling = stack.enter_context(servers.gunicorn("tests.bench.ceilings:page_app", environ, log))
        webhook_ceiling = stack.enter_context(
            servers.gunicorn(
                "tests.bench.ceilings:webhook_app()",
                {**environ, "BENCH_CEILING_DATABASE": ceiling_database},
                log,
            )
        )
        for path in PAGES:
            with urlopen(portal.url + path, timeout=10) as answer:
                assert answer.status == 200, f"{path} answered {answer.status}"

        print(f"[{kind}] public pages, wrk 2 threads 32 connections {SECONDS} s each", flush=True)
        results = HttpResults(kind, load_at_start, pages(page_ceiling, "/"))
        ceiling = results.page_ceiling
        print(f"  ceiling 1 (bare Flask page): {ceiling.requests_per_second:.0f} req/s", flush=True)
        for path in PAGES:
            measured = pages(portal, path)
            results.pages.append(measured)
            print(
                f"  {path}: {measured.requests_per_second:.0f} req/s, "
                f"{measured.requests_per_second / ceiling.requests_per_second:.2f} of the ceiling; "
                f"{measured.cpu_ms:.2f} ms of processor a page (ceiling: {ceiling.cpu_ms:.2f})",
                flush=True,
            )

        print(
            f"[{kind}] signed webhook, open loop {WEBHOOK_RATE:.0f}/s for {WEBHOOK_SECONDS:.0f} s", flush=True
        )
        results.webhook_ceiling = webhook(webhook_ceiling)
        results.webhook = webhook(portal)
        results.webhook_ceiling_most = load.closed_loop(webhook_ceiling.url, servers.PUBLIC_URL, MOST_SECONDS)
        results.webhook_most = load.closed_loop(portal.url, servers.PUBLIC_URL, MOST_SECONDS)
        for name, figures, most in (
            ("ceiling 2", results.webhook_ceiling, results.webhook_ceiling_most),
            ("portal", results.webhook, results.webhook_most),
        ):
            print(
                f"  {name}: p50 {figures.p50_ms:.1f} ms, p99 {figures.p99_ms:.1f} ms, "
                f"{figures.errors} errors of {figures.sent}; {figures.cpu_ms:.1f} ms of processor a text; "
                f"at most {most:.0f} texts/s",
                flush=True,
            )
        return results


def measure_all(folder: Path) -> list[HttpResults]:
    kinds = ["sqlite"] + (["postgresql"] if servers.postgres_reachable() else [])
    return [measure(kind, folder) for kind in kinds]


if __name__ == "__main__":
    if not load.wrk_installed():
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as folder:
        measure_all(Path(folder))
