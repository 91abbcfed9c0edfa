"""The loopback HTTP server every double runs on, with request logging and fault injection."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclasses.dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as is
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    omit_headers: tuple[str, ...] = ()  # default headers not to send (e.g. "Content-Type")


@dataclasses.dataclass
class Fault:
    """Applied to the next `times` requests whose path matches `path` (a regex; empty = any path).

    kind: "status" (answer `status` with the platform's error `body`), "rate_limit" (429 with a reset
    `reset_in` seconds ahead), "slow" (sleep `delay` seconds before answering normally),
    "malformed" (200 with a body that is not JSON).
    """

    kind: str
    path: str = ""
    times: int = 1
    status: int = 500
    body: Any = None
    reset_in: int = 2
    delay: float = 0.0


Route = Callable[[Request], Response]


class DoubleServer:
    """A threaded HTTP server on 127.0.0.1 and a free port. Subclasses register routes and error shapes."""

    platform = ""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Route]] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()  # open keep-alive connections, closed by stop()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self, port: int = 0) -> Self:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def setup(self) -> None:
                super().setup()
                with double._lock:
                    double._connections.add(self.connection)

            def finish(self) -> None:
                with double._lock:
                    double._connections.discard(self.connection)
                super().finish()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                response = double.dispatch(request)
                payload = response.body if isinstance(response.body, bytes) else json.dumps(response.body).encode()
                self.send_response(response.status)
                headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
                for name, value in headers.items():
                    if name not in response.omit_headers:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{self.platform}-double",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close every kept-alive connection: clients pool their connections, and a
        stopped double must not go on answering on one of them (nor a new double on the same port be
        mistaken for it)."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the double first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- routing --------------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Route) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if not fault.path or re.search(fault.path, request.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "malformed":
                return Response(200, b'{"data": [ this is not json', self.rate_limit_headers())
            elif fault.kind == "rate_limit":
                return self.rate_limited(fault.reset_in)
            elif fault.kind == "status":
                return Response(fault.status, fault.body if fault.body is not None else self.error_body(fault.status))
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                request.query.setdefault("_path", [])
                for key, value in match.groupdict().items():
                    request.query[f"_{key}"] = [value]
                return handler(request)
        return Response(404, self.error_body(404))

    def requests_to(self, pattern: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if re.search(pattern, r.path)]

    # -- platform specifics (overridden) --------------------------------------------------------------
    def rate_limit_headers(self) -> dict[str, str]:
        return {}

    def rate_limited(self, reset_in: int) -> Response:
        return Response(429, self.error_body(429), self.rate_limit_headers())

    def error_body(self, status: int) -> Any:
        return {"error": status}
