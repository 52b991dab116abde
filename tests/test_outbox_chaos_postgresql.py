"""The outbox chaos test (tests/test_outbox_chaos.py) on PostgreSQL: a file of its own, so
that the test processes run it beside the SQLite one, not after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_outbox_chaos import run_chaos


@pytest.mark.slow
@pytest.mark.postgres
def test_no_alert_lost_with_workers_killed_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    run_chaos(tmp_path, PORTAL_DATABASE_URL=postgres_url)
