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
# Texts built to be slow to read (a regular expression that backtracks, a parser fed
# every number), against a long ordinary text of the same length as the ceiling.
ORDINARY = ("PIN 4500 Lindell Blvd, he is scared and walking around the house, " * 25)[:1600]
HOSTILE = {
    "1,600 letters": "a" * 1600,
    "1,600 Chinese characters": "求" * 1600,
    "800 words": "ab " * 533,
    "400 'and's": "a & " * 400,
    "228 house numbers": "1234 a " * 228,
    "200 Arabic 'and's": "غراند و " * 200,
}


def reading_ratios() -> None:
    import tomllib

    from portal import PROJECT_ROOT
    from portal.sms.reading import read_text

    streets = tomllib.loads((PROJECT_ROOT / "portal" / "agency.toml").read_text())["streets"]
    read_text("warm up the language model", streets)

    def seconds(text: str) -> float:
        started = time.perf_counter()
        for _ in range(5):
            read_text(text, streets)
        return (time.perf_counter() - started) / 5

    ceiling = seconds(ORDINARY)
    print(f"reading an ordinary 1,600-character text: {ceiling * 1000:.1f} ms (the ceiling)")
    for name, text in HOSTILE.items():
        print(f"  {name}: {seconds(text) / ceiling:.2f} x the ceiling")


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
    reading_ratios()
    main()
