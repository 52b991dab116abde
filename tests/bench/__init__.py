"""`make bench`: the portal under gunicorn beside two bare-Flask ceilings, the alert
latency bench, and crisis-plan look-up at scale; writes docs/benchmarks.md.

Run it all with `python -m tests.bench`, or one part: `python -m tests.bench.http`,
`python -m tests.bench.plans` (BENCH_PLANS=1000000 for a million plans).
"""
