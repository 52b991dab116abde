"""Load from another process: wrk for throughput (closed loop), and a small open-loop
driver for the signed webhook, which sends at a fixed rate whatever the answers' speed
and measures each answer from the moment it was due (no coordinated omission)."""

from __future__ import annotations

import http.client
import itertools
import queue
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

WRK = ["-t2", "-c32", "--latency"]
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Throughput:
    url: str
    requests_per_second: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors other than the server's closes
    cpu_ms: float = 0.0  # the server's processor time per request, when measured


def wrk_installed() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, seconds: int) -> Throughput:
    output = subprocess.run(
        ["wrk", *WRK, f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    socket_errors = re.search(r"Socket errors: connect (\d+), read \d+, write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:  # read errors are sync workers closing after each answer: not counted
        errors += sum(int(group) for group in socket_errors.groups())
    return Throughput(
        url=url,
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]),
        p99_ms=_ms(latency["99"]),
        errors=errors,
    )


@dataclass
class Latency:
    rate: float
    sent: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # answers other than 200, and failed connections
    achieved_rate: float  # answers a second over the run
    cpu_ms: float = 0.0  # the server's processor time per request, when measured


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


_numbers = itertools.count()


def signed_texts(public_url: str, count: int) -> list[tuple[bytes, str]]:
    """`count` first texts from new texters, each signed as Twilio signs them."""
    validator = RequestValidator(AUTH_TOKEN)
    texts = []
    for _ in range(count):
        number = next(_numbers)
        params = {
            "From": f"+1314{6_000_000 + number:07d}",
            "To": "+13145550100",
            "Body": f"PIN {number % 9000 + 100} Main St, my brother is not safe",
            "MessageSid": f"SM{number:032d}",
            "AccountSid": ACCOUNT_SID,
        }
        signature = validator.compute_signature(public_url + "/sms/inbound", params)
        texts.append((urlencode(params).encode(), signature))
    return texts


def open_loop(url: str, public_url: str, rate: float, seconds: float, senders: int = 64) -> Latency:
    """POST signed texts to url/sms/inbound at `rate` a second for `seconds`."""
    texts = signed_texts(public_url, int(rate * seconds))
    host = urlsplit(url)
    due: queue.Queue[tuple[float, bytes, str] | None] = queue.Queue()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def send() -> None:
        nonlocal errors
        while (item := due.get()) is not None:
            at, body, signature = item
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            try:
                connection = http.client.HTTPConnection(host.hostname or "", host.port, timeout=30)
                connection.request("POST", "/sms/inbound", body, headers)
                response = connection.getresponse()
                response.read()
                connection.close()
                ok = response.status == 200
            except OSError:
                ok = False
            took = (time.perf_counter() - at) * 1000
            with lock:
                latencies.append(took)
                errors += not ok

    threads = [threading.Thread(target=send, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for index, (body, signature) in enumerate(texts):
        at = started + index / rate
        time.sleep(max(0.0, at - time.perf_counter()))
        due.put((at, body, signature))
    for _ in threads:
        due.put(None)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return Latency(
        rate=rate,
        sent=len(texts),
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies),
        errors=errors,
        achieved_rate=len(texts) / elapsed,
    )


def closed_loop(url: str, public_url: str, seconds: float, senders: int = 8) -> float:
    """The most signed texts a second the server answers: `senders` threads each posting
    the next text as soon as the last is answered."""
    host = urlsplit(url)
    stop = time.perf_counter() + seconds
    answered = 0
    lock = threading.Lock()

    def send() -> None:
        nonlocal answered
        while time.perf_counter() < stop:
            ((body, signature),) = signed_texts(public_url, 1)
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            connection = http.client.HTTPConnection(host.hostname or "", host.port, timeout=30)
            connection.request("POST", "/sms/inbound", body, headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            with lock:
                answered += response.status == 200

    started = time.perf_counter()
    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered / (time.perf_counter() - started)
