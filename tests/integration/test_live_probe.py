"""`eventshop up`'s liveness probe: any HTTP answer counts, silence and nothing listening do not, and its kept-alive
connection survives the process being restarted."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from eventshop.platform.probing import LiveProbe


class Health(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn serves
    status = 200
    connections: list[socket.socket] = []  # shared by the test and the server's threads

    def setup(self) -> None:
        super().setup()
        Health.connections.append(self.connection)

    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(Health.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def stop(server: ThreadingHTTPServer) -> None:
    """As the process exiting would: no more accepting, and its open connections closed."""
    server.shutdown()
    server.server_close()
    for connection in Health.connections:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    Health.status, Health.connections = 200, []
    running = serve()
    yield running
    stop(running)


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}/health/live"


def test_any_answer_counts_and_the_connection_is_kept(server: ThreadingHTTPServer) -> None:
    probe = LiveProbe(url(server.server_address[1]))
    assert probe.responded()
    Health.status = 503  # not ready is still an answer
    assert probe.responded()
    assert len(Health.connections) == 1
    probe.close()


def test_nothing_listening_is_no_answer() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
    assert not LiveProbe(url(port), timeout=0.5).responded()


def test_a_process_that_accepts_and_stays_silent_is_no_answer_within_the_timeout() -> None:
    with socket.socket() as frozen:  # a stopped process: the kernel still accepts on its port
        frozen.bind(("127.0.0.1", 0))
        frozen.listen()
        probe = LiveProbe(url(frozen.getsockname()[1]), timeout=0.3)
        started = time.monotonic()
        assert not probe.responded()
        assert time.monotonic() - started < 1.0  # one timeout, not a retry on top


def test_a_restarted_process_is_asked_again_on_a_new_connection(server: ThreadingHTTPServer) -> None:
    port = server.server_address[1]
    probe = LiveProbe(url(port))
    assert probe.responded()
    stop(server)  # the process behind the kept-alive connection is gone ...
    restarted = serve(port)  # ... and a new one listens on the same port
    try:
        assert probe.responded()
        assert len(Health.connections) == 2
    finally:
        probe.close()
        stop(restarted)
