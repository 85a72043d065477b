"""The web page's files over real HTTP from the local server: the root sent to /app/, every file of
function_app/web with its content type, security and cache headers, 304 on a matching ETag, and nothing
outside the folder (dot segments, encoded or not, backslashes, hidden files, types not served, symlinks)."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from function_app.api.web import CONTENT_TYPES, WEB_ROOT, web_file

from .support.service import start_server, stop_server

KEY = f"key-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("web")
    process, url = start_server(
        {"FACE_API_KEY": KEY, "STORAGE_BACKEND": "local", "STORAGE_DIR": str(folder / "data")}, folder / "server.log"
    )
    try:
        yield url
    finally:
        stop_server(process)


def raw_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET `path` exactly as written: `requests` would resolve its dot segments before sending."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def web_files() -> list[Path]:
    return sorted(p for p in WEB_ROOT.rglob("*") if p.is_file())


def test_the_root_and_app_without_its_slash_lead_to_the_page(server):
    for path in ("/", "/app"):
        status, headers, _ = raw_get(server, path)
        assert (status, headers["location"]) == (302, "/app/"), path
    page = requests.get(server, timeout=30)  # followed
    assert page.url == f"{server}/app/"
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/app/js/main.js"></script>' in page.text


def test_every_file_is_served_whole_with_its_type_and_headers(server):
    files = web_files()
    assert {p.suffix for p in files} >= {".html", ".css", ".js", ".svg"}
    for file in files:
        path = file.relative_to(WEB_ROOT).as_posix()
        reply = requests.get(f"{server}/app/{path}", timeout=30)
        mimetype, charset = CONTENT_TYPES[file.suffix]
        assert reply.status_code == 200, path
        assert reply.content == file.read_bytes(), path
        assert reply.headers["Content-Type"] == mimetype + (f"; charset={charset}" if charset else ""), path
        assert reply.headers["Cache-Control"] == "no-cache"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in reply.headers["Content-Security-Policy"]


def test_a_known_etag_answers_304_without_the_body(server):
    first = requests.get(f"{server}/app/js/main.js", timeout=30)
    etag = first.headers["ETag"]
    status, headers, body = raw_get(server, "/app/js/main.js", {"If-None-Match": f'"other", {etag}'})
    assert (status, body, headers["etag"]) == (304, b"", etag)
    status, _, body = raw_get(server, "/app/js/main.js", {"If-None-Match": '"stale"'})
    assert status == 200 and body == first.content


@pytest.mark.parametrize(
    "path",
    [
        "/app/../host.json",
        "/app/js/../../api/web.py",
        "/app/%2e%2e/%2e%2e/host.json",
        "/app/..%2f..%2fhost.json",
        "/app/..%5c..%5chost.json",
        "/app/js/%00main.js",
        "/app/.hidden",
        "/app/no-such-file.js",
        "/app/js/nothing/",
        "/app/index.html.bak",
    ],
)
def test_nothing_outside_the_folder_or_not_listed_is_served(server, path):
    status, headers, body = raw_get(server, path)
    assert status == 404, path
    assert headers["content-type"].startswith("application/json")
    assert body.startswith(b'{"error": {"code": "ResourceNotFound"')


def test_the_page_is_anonymous_but_the_api_still_wants_the_key(server):
    assert requests.get(f"{server}/app/", timeout=30).status_code == 200
    refused = requests.get(f"{server}/api/visits", timeout=30)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "401"
    assert requests.get(f"{server}/api/visits", headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=30).ok
    not_allowed = requests.post(f"{server}/app/", timeout=30)
    assert not_allowed.status_code == 405


def test_a_symlink_out_of_the_folder_and_unlisted_types_are_refused(tmp_path):
    root = tmp_path / "web"
    root.mkdir()
    (tmp_path / "secret.html").write_text("outside")
    (root / "leak.html").symlink_to(tmp_path / "secret.html")
    (root / "server.py").write_text("print('source')")
    (root / "page.html").write_text("<p>inside</p>")
    (root / "folder").mkdir()
    (root / "folder" / "index.html").write_text("<p>index</p>")
    assert web_file("leak.html", root) is None
    assert web_file("server.py", root) is None
    found = web_file("page.html", root)
    assert found is not None and found.body == b"<p>inside</p>" and found.mimetype == "text/html"
    index = web_file("folder/", root)
    assert index is not None and index.body == b"<p>index</p>"
