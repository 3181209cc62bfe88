"""Through a real gunicorn (``triage serve``): a URL with an encoded newline, carriage return, NUL
or escape sequence leaves exactly one line per record in the server's log — gunicorn's access
line and triage's own request line, both JSON with every control character escaped — and the
access line ends with the request's id, the one the response carried."""

from __future__ import annotations

import json
import socket
import time

from tests.e2e.conftest import Server

FORGED = "FORGED admin signed in"
PATHS = [
    "/login%0a" + FORGED.replace(" ", "%20"),
    "/login%0d%0a" + FORGED.replace(" ", "%20") + "%00",
    "/cases/%00%1b%5b2K" + FORGED.replace(" ", "%20"),
    "/admin/users/99999999999999999999999%0a" + FORGED.replace(" ", "%20"),
]


def _raw_get(base_url: str, path: str) -> tuple[int, dict[str, str]]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head = b"".join(chunks).split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split(" ", 2)[1]), {k.lower(): v for k, v in headers.items()}


def test_an_encoded_newline_in_a_url_leaves_one_line_per_record(server: Server) -> None:
    ids = []
    for path in PATHS:
        status, headers = _raw_get(server.base_url, path)
        assert status in (302, 400, 404), (path, status)
        ids.append(headers.get("x-request-id"))
    time.sleep(1)  # gunicorn writes the access line after the response
    lines = server.log.read_text(encoding="utf-8").splitlines()

    assert not any(line.lstrip().startswith("FORGED") for line in lines), lines
    telling = [line for line in lines if "FORGED" in line]
    assert len(telling) >= len(PATHS), lines  # at least the access line of each request
    for line in telling:
        record = json.loads(line)  # one whole JSON object: nothing broke it in two
        assert "\n" not in line and "\r" not in line and "\x00" not in line
        assert {"time", "level", "logger", "message"} <= set(record)
    access = [json.loads(line) for line in telling if '"gunicorn.access"' in line]
    assert len(access) == len(PATHS), telling
    for request_id in ids:
        assert request_id and any(a["message"].endswith(request_id) for a in access), request_id
        assert any(a["request_id"] == request_id for a in access), "in its own field too"
