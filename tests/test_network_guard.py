import socket

import pytest


def test_a_call_beyond_this_machine_fails_the_test() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError, match="unexpected network call"):
        sock.connect(("192.0.2.1", 443))


def test_loopback_calls_are_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
