"""`make bench`: how fast the text line takes texts and gets alerts out, and its memory.

Measured, not asserted: run it before and after a change that touches the hot path
(the webhook, the conversation, the outbox) and compare.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from tests.fake_twilio import FakeTwilio
from tests.text_line_helpers import DISPATCH, make_text_line_app, running_worker, send_text

TEXTS = 300


def main() -> None:
    fake = FakeTwilio().start()
    with tempfile.TemporaryDirectory() as folder:
        app = make_text_line_app(Path(folder), fake)
        client = app.test_client()
        tracemalloc.start()
        timings = []
        for number in range(TEXTS):
            started = time.perf_counter()
            response = send_text(client, f"PIN {number + 1} Main St", sender=f"+1314555{number:04d}")
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        started = time.perf_counter()
        with running_worker(app):
            while len(fake.messages) < TEXTS * len(DISPATCH):
                time.sleep(0.05)
        delivery = time.perf_counter() - started
    fake.stop()
    timings.sort()
    print(
        f"webhook, {TEXTS} texts on SQLite: median {statistics.median(timings) * 1000:.1f} ms, "
        f"95th percentile {timings[int(TEXTS * 0.95)] * 1000:.1f} ms, peak memory {peak / 1e6:.1f} MB"
    )
    print(
        f"outbox, one worker: {TEXTS * len(DISPATCH)} alerts in {delivery:.1f} s "
        f"({TEXTS * len(DISPATCH) / delivery:.0f} a second)"
    )


if __name__ == "__main__":
    main()
