"""Crisis-plan look-up at scale: fill a database with plans encrypted as real ones are,
then time the console's three look-ups and print their query plans.

`python -m tests.bench.plans` (BENCH_PLANS=1000000 for a million; it takes minutes).
The plans are written with the app's own tables and column types, so every personal
field goes through the same Fernet encryption and every look-up key through the same
keyed hash (blind index) as a filed plan; only the ORM's unit of work is skipped.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, insert

from portal import create_app
from portal.crypto import vault
from portal.database import utcnow
from portal.demo import DEMO_DETAILS
from portal.extensions import db
from portal.phones import phone_index
from portal.plans.models import REFERENCE_ALPHABET, CrisisPlan, PlanNameIndex, PlanPhone, birth_index_key
from portal.plans.names import plan_keys
from portal.plans.services import find_plan_by_reference, find_plans_by_name_and_birth, find_plans_by_phone
from tests.bench import machine, servers
from tests.bench.load import percentile

DEMO_PERSON: dict[str, Any] = dict(DEMO_DETAILS["person"])  # type: ignore[call-overload]
PLANS = int(os.environ.get("BENCH_PLANS", "100000"))
LOOKUPS = 1000
WARM_UP = 100
BATCH = 5000
GIVEN = [
    "Alex",
    "Amina",
    "Ana",
    "Andrew",
    "Ahmed",
    "Bao",
    "Carlos",
    "Chen",
    "Daniel",
    "Dino",
    "Emina",
    "Emily",
    "Fatima",
    "Hana",
    "Huong",
    "James",
    "Jasmin",
    "Jose",
    "Kenji",
    "Layla",
    "Lejla",
    "Linh",
    "Maria",
    "Mei",
    "Mirza",
    "Minh",
    "Nadia",
    "Omar",
    "Pedro",
    "Sam",
    "Sara",
    "Tariq",
    "Thanh",
    "Wei",
    "Yusuf",
    "Zlatan",
    "Đorđe",
    "Nguyễn",
    "Lucía",
    "Sofía",
]
FAMILY = [
    "Alvarez",
    "Begić",
    "Brown",
    "Chen",
    "Davis",
    "Delić",
    "Garcia",
    "Hadžić",
    "Hernandez",
    "Hoang",
    "Huang",
    "Jackson",
    "Johnson",
    "Kovačević",
    "Le",
    "Li",
    "Lopez",
    "Martin",
    "Miller",
    "Mohamed",
    "Nguyen",
    "Okafor-Brandt",
    "O'Brien",
    "Pham",
    "Rahman",
    "Ramirez",
    "Smith",
    "Tran",
    "Wang",
    "Williams",
    "Wilson",
    "Wu",
    "Zhang",
    "Ali",
    "Hassan",
    "Đurić",
    "Silva",
    "Moore",
    "Taylor",
    "Young",
]


def new_reference(rng: random.Random) -> str:
    """A reference code as portal.plans.models makes them, from a seeded generator (the
    app's, from `secrets`, would take a tenth of the fill's time)."""
    code = "".join(rng.choices(REFERENCE_ALPHABET, k=8))
    return f"{code[:4]}-{code[4:]}"


@dataclass
class Sample:
    phone: str  # as a dispatcher types it
    reference: str
    name: str
    born: date


@dataclass
class PlanResults:
    database: str
    load_average: str  # when this part began
    plans: int
    fill_seconds: float
    # By look-up: (p50 ms, p99 ms) of the whole look-up, and of its SQL alone.
    lookups: dict[str, tuple[float, float]] = field(default_factory=dict)
    queries: dict[str, tuple[float, float]] = field(default_factory=dict)
    # By look-up: p99 ms of this process's processor time (the SQLite engine's included).
    processor: dict[str, float] = field(default_factory=dict)
    query_plans: dict[str, list[str]] = field(default_factory=dict)
    megabytes: float = 0.0  # the whole database on disk, indexes included


def fill(count: int, rng: random.Random) -> list[Sample]:
    """Write `count` plans; returns what to look up for LOOKUPS + WARM_UP of them."""
    picked = set(rng.sample(range(count), LOOKUPS + WARM_UP))
    samples, references, now = [], set(), utcnow()
    keys = vault()
    for start in range(0, count, BATCH):
        plans: list[dict[str, Any]] = []
        phones: list[dict[str, Any]] = []
        names: list[dict[str, Any]] = []
        for number in range(start, min(count, start + BATCH)):
            plan_id = number + 1
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            name = f"{given} {family}"
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(30_000))
            preferred = given[:3] if rng.random() < 0.3 else ""
            reference = new_reference(rng)
            while reference in references:
                reference = new_reference(rng)
            references.add(reference)
            details = {
                **DEMO_DETAILS,
                "person": {
                    **DEMO_PERSON,
                    "name": name,
                    "preferred_name": preferred,
                    "birth_date": born.isoformat(),
                },
            }
            plans.append(
                {
                    "id": plan_id,
                    "reference": reference,
                    "language": rng.choice(("en", "en", "en", "es", "bs", "vi", "zh", "ar")),
                    "cit_requested": True,
                    "filed_by": "self",
                    "person_confirmed_at": now,
                    "details": details,
                    "name_birth_index": keys.blind_index(birth_index_key(name, born)),
                    "created_at": now,
                    "confirmed_at": now,
                }
            )
            person_phone = f"+1314{2_000_000 + number:07d}"
            numbers = [(person_phone, "person")]
            if number % 2:
                numbers.append((f"+1636{2_000_000 + number:07d}", "pending" if number % 10 == 1 else "other"))
            phones += [
                {
                    "plan_id": plan_id,
                    "number": e164,
                    "number_index": phone_index(e164),
                    "role": role,
                    "verified_at": now,
                }
                for e164, role in numbers
            ]
            names += [
                {"plan_id": plan_id, "name_index": index}
                for index in sorted({keys.blind_index(key) for key in plan_keys(name, born, preferred)})
            ]
            if number in picked:
                typed = f"({person_phone[2:5]}) {person_phone[5:8]}-{person_phone[8:]}"
                samples.append(Sample(typed, reference, name, born))
        db.session.execute(insert(CrisisPlan.__table__), plans)
        db.session.execute(insert(PlanPhone.__table__), phones)
        db.session.execute(insert(PlanNameIndex.__table__), names)
        db.session.commit()
        if (start + len(plans)) % 100_000 == 0:
            print(f"  {start + len(plans):,} plans written", flush=True)
    rng.shuffle(samples)
    return samples


LOOK_UPS: dict[str, Callable[[Sample], list[Any]]] = {
    "phone": lambda sample: find_plans_by_phone(sample.phone),
    "reference": lambda sample: [find_plan_by_reference(sample.reference)],
    "name and date of birth": lambda sample: find_plans_by_name_and_birth(sample.name, sample.born),
}


def captured(look_up: Callable[[Sample], list[Any]], sample: Sample) -> list[tuple[str, Any]]:
    """The SELECT statements, with their parameters, that the look-up sends."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        look_up(sample)
        db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return sent


def timed(look_up: Callable[[Sample], list[Any]], samples: list[Sample]) -> tuple[float, float, float]:
    """p50 and p99 in ms of one look-up as the console runs it: the service call (keyed
    hashes, query, decrypting the plan) and the end of its transaction; and the p99 of
    this process's processor time for it, which a busy machine does not stretch. Every
    sample must find its plan."""
    took, processor = [], []
    for index, sample in enumerate(samples):
        started, started_processor = time.perf_counter(), time.process_time()
        found = look_up(sample)
        db.session.rollback()
        if index >= WARM_UP:
            took.append((time.perf_counter() - started) * 1000)
            processor.append((time.process_time() - started_processor) * 1000)
        assert found and found[0] is not None, f"look-up by {sample} found nothing"
    return percentile(took, 0.50), percentile(took, 0.99), percentile(processor, 0.99)


def timed_queries(look_up: Callable[[Sample], list[Any]], samples: list[Sample]) -> tuple[float, float]:
    """p50 and p99 in ms of the same look-ups' SQL alone, sent through the driver: the
    database's share of the time."""
    statements = [captured(look_up, sample) for sample in samples]
    connection = db.session.connection()
    took = []
    for index, sent in enumerate(statements):
        started = time.perf_counter()
        for statement, parameters in sent:
            connection.exec_driver_sql(statement, parameters).all()
        if index >= WARM_UP:
            took.append((time.perf_counter() - started) * 1000)
    db.session.rollback()
    return percentile(took, 0.50), percentile(took, 0.99)


def query_plan(look_up: Callable[[Sample], list[Any]], sample: Sample) -> list[str]:
    """The database's plan for the statements the look-up sends: EXPLAIN QUERY PLAN on
    SQLite, EXPLAIN ANALYZE on PostgreSQL."""
    lines = []
    sent = captured(look_up, sample)
    connection = db.session.connection()
    for statement, parameters in sent:
        lines.append(" ".join(statement.split()))
        if db.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            lines += [f"  {row[3]}" for row in rows]
        else:
            rows = connection.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters).all()
            lines += [f"  {row[0]}" for row in rows]
    db.session.rollback()
    return lines


def size_mb() -> float:
    """The plans on disk, their indexes included: the SQLite file (its log copied in
    first), or PostgreSQL's three plan tables."""
    if db.engine.dialect.name == "sqlite":
        raw = db.engine.raw_connection()  # outside any transaction, as the pragma needs
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, size = (
                raw.cursor().execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "page_size")
            )
        finally:
            raw.close()
        return float(pages * size) / 1e6
    tables = ("crisis_plans", "plan_phones", "plan_name_indexes")
    connection = db.session.connection()
    total = sum(
        int(connection.exec_driver_sql(f"SELECT pg_total_relation_size('{table}')").scalar_one())
        for table in tables
    )
    db.session.rollback()
    return total / 1e6


def measure(kind: str, folder: Path, count: int = PLANS) -> PlanResults:
    from flask_migrate import upgrade

    load_at_start = machine.load()
    with servers.database(kind, folder) as database:
        app: Flask = create_app(environ=servers.bench_environ(database.url, "http://127.0.0.1:9"))
        with app.app_context():
            upgrade()
            print(f"[{kind}] filling {count:,} plans", flush=True)
            started = time.perf_counter()
            samples = fill(count, random.Random(13))
            with db.engine.connect() as connection:  # fresh statistics, as a maintained server has
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
            results = PlanResults(kind, load_at_start, count, time.perf_counter() - started)
            results.megabytes = size_mb()
            print(
                f"  {count:,} plans in {results.fill_seconds:.0f} s, {results.megabytes:,.0f} MB", flush=True
            )
            for name, look_up in LOOK_UPS.items():
                p50, p99, results.processor[name] = timed(look_up, samples)
                results.lookups[name] = (p50, p99)
                results.queries[name] = timed_queries(look_up, samples)
                results.query_plans[name] = query_plan(look_up, samples[0])
                (p50, p99), (sql50, sql99) = results.lookups[name], results.queries[name]
                print(
                    f"  by {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms (its SQL alone: p50 {sql50:.2f} ms, "
                    f"p99 {sql99:.2f} ms; processor time p99 {results.processor[name]:.2f} ms)",
                    flush=True,
                )
                print("\n".join("    " + line for line in results.query_plans[name]), flush=True)
            db.session.remove()
            db.engine.dispose()
    return results


def measure_all(folder: Path, count: int = PLANS) -> list[PlanResults]:
    kinds = ["sqlite"] + (["postgresql"] if servers.postgres_reachable() else [])
    return [measure(kind, folder, count) for kind in kinds]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        measure_all(Path(folder))
