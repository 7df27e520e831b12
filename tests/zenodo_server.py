"""A local HTTP server on 127.0.0.1 that answers like Zenodo's records API, with faults on demand."""

import hashlib
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeZenodo:
    """Serves ``files`` as record ``record``: ``GET /api/records/<record>`` and each file's content.

    Faults, each keyed by request path (``record_path`` or ``file_path(name)``):
    ``statuses[path]``: status codes answered (and used up) before the real answer;
    ``drop[path]``: times the connection is closed halfway through the body;
    ``stall[path]``: times the server waits ``stall_seconds`` before answering;
    ``wrong_md5``: names whose published checksum is wrong.
    """

    def __init__(self, files: dict[str, Path], record: int = 4697906):
        self.files = {name: Path(path).read_bytes() for name, path in files.items()}
        self.record = record
        self.statuses: dict[str, list[int]] = {}
        self.drop: Counter = Counter()
        self.stall: Counter = Counter()
        self.stall_seconds = 2.0
        self.wrong_md5: set[str] = set()
        self.hits: Counter = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def record_path(self) -> str:
        return f"/api/records/{self.record}"

    def file_path(self, name: str) -> str:
        return f"{self.record_path}/files/{name}/content"

    def md5(self, name: str) -> str:
        if name in self.wrong_md5:
            return "0" * 32
        return hashlib.md5(self.files[name]).hexdigest()

    def record_json(self) -> bytes:
        files = [
            {
                "key": name,
                "size": len(content),
                "checksum": f"md5:{self.md5(name)}",
                "links": {"self": self.url + self.file_path(name)},
            }
            for name, content in self.files.items()
        ]
        return json.dumps({"id": self.record, "files": files}).encode()

    def _handler(self):
        zenodo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                zenodo.hits[self.path] += 1
                if zenodo.stall[self.path] > 0:
                    zenodo.stall[self.path] -= 1
                    time.sleep(zenodo.stall_seconds)
                pending = zenodo.statuses.get(self.path)
                if pending:
                    self.send_response(pending.pop(0))
                    self.send_header("Content-Length", "0")
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                if self.path == zenodo.record_path:
                    body = zenodo.record_json()
                else:
                    name = next((n for n in zenodo.files if zenodo.file_path(n) == self.path), None)
                    if name is None:
                        self.send_error(404)
                        return
                    body = zenodo.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if zenodo.drop[self.path] > 0:
                    zenodo.drop[self.path] -= 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens: a server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
