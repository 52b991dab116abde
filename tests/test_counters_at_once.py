"""Guesses sent at once are counted one after the other, on SQLite and on PostgreSQL:
five wrong SMS codes lock a phone, and one TOTP code signs in once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pyotp
from flask import Flask

from portal.console.accounts import lock_row, totp_accepts
from portal.console.models import ConsoleUser
from portal.extensions import db
from portal.plans.codes import CodeCheck, check_code, send_code
from tests.console_helpers import make_user

PHONE = "+13145550190"


def at_once(app: Flask, count: int, attempt: Callable[[], object]) -> list[object]:
    results: list[object] = []
    barrier = threading.Barrier(count)

    def one() -> None:
        with app.app_context():
            barrier.wait()
            results.append(attempt())
            db.session.remove()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == count
    return results


def test_forty_wrong_codes_at_once_are_five_tries(any_database_app: Flask) -> None:
    with any_database_app.app_context():
        send_code(PHONE, "sign_in", "Your code is {code}")
        db.session.commit()
    results = Counter(at_once(any_database_app, 40, lambda: check_code(PHONE, "sign_in", "000000")))
    assert results[CodeCheck.WRONG] == 4 and results[CodeCheck.LOCKED] == 36, results


def test_one_totp_code_sent_six_times_at_once_is_accepted_once(any_database_app: Flask) -> None:
    secret = make_user(any_database_app, "dee@example.org", "dispatcher")
    code = pyotp.TOTP(secret).now()

    def sign_in_with_the_code() -> bool:
        user = db.session.query(ConsoleUser).filter_by(email="dee@example.org").one()
        lock_row(user)
        accepted = totp_accepts(user, code)
        db.session.commit()
        return accepted

    assert sorted(at_once(any_database_app, 6, sign_in_with_the_code)) == [False] * 5 + [True]
