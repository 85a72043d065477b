"""The web page for people: the static files of `function_app/web/` under `/app/`, and the site's root sent
there. Anonymous (the page asks for the key and sends it to the API itself), confined to its folder, only files
of the types listed here, each with an ETag so that a browser revalidates instead of running stale code."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import azure.functions as func

from .http import error_response

bp = func.Blueprint()
WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
APP_PATH = "/app/"
WEB_FUNCTIONS = frozenset({"web_app", "web_root"})  # anonymous, and not part of the API
CONTENT_TYPES = {
    ".html": ("text/html", "utf-8"),
    ".css": ("text/css", "utf-8"),
    ".js": ("text/javascript", "utf-8"),
    ".svg": ("image/svg+xml", "utf-8"),
    ".png": ("image/png", None),
    ".ico": ("image/x-icon", None),
    ".webmanifest": ("application/manifest+json", "utf-8"),
}
# The page loads nothing from elsewhere; photos and video chosen by the user are shown from blob: URLs.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    mimetype: str
    charset: str | None
    etag: str


def web_file(path: str, root: Path = WEB_ROOT) -> StaticFile | None:
    """The file at `path` under `root` (its index.html for a folder), or None when there is none to serve:
    a path leaving the folder, a hidden file, a type not listed."""
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return None
    base = root.resolve()
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):  # a symlink leading out
        return None
    if target.is_dir():
        target = target / "index.html"
    kind = CONTENT_TYPES.get(target.suffix.lower())
    if kind is None or not target.is_file():
        return None
    return _read(target, *kind)


@functools.lru_cache(maxsize=64)
def _cached(target: Path, mtime_ns: int, mimetype: str, charset: str | None) -> StaticFile:
    body = target.read_bytes()
    return StaticFile(body, mimetype, charset, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _read(target: Path, mimetype: str, charset: str | None) -> StaticFile:
    return _cached(target, target.stat().st_mtime_ns, mimetype, charset)


def file_response(found: StaticFile | None, if_none_match: str | None) -> func.HttpResponse:
    if found is None:
        return error_response("ResourceNotFound", "No such page: the web page is at /app/.", 404)
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache", "ETag": found.etag}
    if if_none_match and found.etag in (t.strip() for t in if_none_match.split(",")):
        return func.HttpResponse(b"", status_code=304, headers=headers, mimetype=found.mimetype, charset=found.charset)
    return func.HttpResponse(found.body, headers=headers, mimetype=found.mimetype, charset=found.charset)


@bp.function_name("web_app")
@bp.route(route="app/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def web_app(req: func.HttpRequest) -> func.HttpResponse:
    path = req.route_params.get("path") or ""
    if not path and not req.url.split("?")[0].endswith("/"):  # /app: relative links need the slash
        return func.HttpResponse(b"", status_code=302, headers={"Location": APP_PATH})
    return file_response(web_file(path), req.headers.get("If-None-Match"))


# The Functions host routes the site's root only to an optional parameter that can never be given
# (azure-functions-host #4638; Azure/Azure-Functions #2473); routePrefix is "" in host.json.
@bp.function_name("web_root")
@bp.route(route="{root:maxlength(0)?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def web_root(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(b"", status_code=302, headers={"Location": APP_PATH})
