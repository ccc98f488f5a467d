"""Helpers for the emulator tests: an HTTP client bound to a base URL and a receiver that
records the hooks/webhooks the emulators send."""

from __future__ import annotations

import json
import threading

import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

SEED_ITEMS = 450  # more than two SOS pages of 200


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: object) -> None:
        pass


class Client:
    """requests against one base URL, with fixed headers."""

    def __init__(self, base: str, headers: dict[str, str] | None = None):
        self.base = base
        self.session = requests.Session()
        self.session.headers.update(headers or {})

    def __call__(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kwargs)


class Receiver:
    """An HTTP endpoint that records every POST; answers `statuses` in turn, then 200."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook/secret-token"

    def _app(self, environ: dict, start_response: object) -> object:
        request = Request(environ)
        with self._lock:
            self.calls.append({"path": request.path, "headers": dict(request.headers), "body": request.get_data()})
            status = self.statuses.pop(0) if self.statuses else 200
        return Response("{}", status=status, mimetype="application/json")(environ, start_response)

    def payloads(self) -> list[dict]:
        with self._lock:
            return [json.loads(call["body"]) for call in self.calls]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
