"""The text-line chaos test (tests/test_text_line_chaos.py) on PostgreSQL: a file of its
own, so that the test processes run it beside the SQLite one, not after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_text_line_chaos import run_chaos


@pytest.mark.slow
@pytest.mark.postgres
def test_the_text_line_under_chaos_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    run_chaos(tmp_path, postgres_url=postgres_url)
