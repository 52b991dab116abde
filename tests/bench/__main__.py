"""`make bench`: every part in one run, then docs/benchmarks.md."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from portal import PROJECT_ROOT
from tests.bench import http, load, machine, plans, report

ALERTS = PROJECT_ROOT / "tests" / "bench_alerts.py"


def alerts(folder: Path) -> tuple[dict[str, Any] | None, str]:
    """Run `python -m tests.bench_alerts` when it exists; its last line is one JSON object."""
    if not ALERTS.exists():
        return None, "Not measured: tests/bench_alerts.py is not in this checkout yet."
    print("[alerts] python -m tests.bench_alerts", flush=True)
    errors = folder / "bench_alerts.log"
    with errors.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench_alerts"],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            print("  " + line.rstrip(), flush=True)
            lines.append(line)
        process.wait()
    try:
        return json.loads(lines[-1]), ""
    except (IndexError, json.JSONDecodeError):
        tail = errors.read_text()[-2000:]
        print(tail, flush=True)
        return (
            None,
            f"Not measured: `python -m tests.bench_alerts` ended with code {process.returncode} and no JSON line.",
        )


def main() -> None:
    if not load.wrk_installed():
        raise SystemExit("make bench needs wrk: apt-get install wrk")
    started, clock, load_start = datetime.now(UTC), time.monotonic(), machine.load()
    print(f"load average at the start: {load_start}", flush=True)
    with tempfile.TemporaryDirectory() as name, machine.LoadWatch() as watch:
        folder = Path(name)
        windows = [time.monotonic()]
        http_results = http.measure_all(folder)
        windows.append(time.monotonic())
        alerts_load = machine.load()
        alert_results, alerts_note = alerts(folder)
        windows.append(time.monotonic())
        plan_results = plans.measure_all(folder)
        windows.append(time.monotonic())
    run = report.Run(
        started=started,
        load_start=load_start,
        http=http_results,
        alerts=alert_results,
        alerts_note=alerts_note,
        alerts_load=alerts_load,
        plans=plan_results,
        minutes=(time.monotonic() - clock) / 60,
        parts={
            name: ((end - start) / 60, watch.between(start, end))
            for name, start, end in zip(
                ("pages and webhook", "alerts", "plan look-up"), windows[:-1], windows[1:], strict=True
            )
        },
        loads=watch.samples,
        others=watch.others,
        load_end=machine.load(),
    )
    path = report.write(run)
    print(f"wrote {path.relative_to(PROJECT_ROOT)} ({run.minutes:.1f} minutes)", flush=True)


if __name__ == "__main__":
    main()
