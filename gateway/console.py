"""The web console's files: its page at `/` and its scripts and styles under `/console/`.

Plain HTML, CSS and ES modules from `gateway/console_files/`, served as they are (no build
step, nothing from a CDN). The console talks to the public `/api/v1` like any other client;
these routes are not API operations, so they need no token and are not in the OpenAPI
document. Every file is read once at start: its bytes, its type and an ETag of its content,
so a browser revalidates with `If-None-Match` and gets a 304 when nothing changed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import falcon

FILES = Path(__file__).resolve().parent / "console_files"
ASSETS = "/console"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".png": "image/png",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.[a-z0-9]+$")
# only our own files: no inline script, no other origin, never framed by another site
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class File:
    body: bytes
    content_type: str
    etag: str


def load_files(folder: Path = FILES) -> dict[str, File]:
    """Every servable file of the console by name (flat: no sub-folders, no dot-files)."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and _NAME.match(path.name) and path.suffix in TYPES:
            body = path.read_bytes()
            files[path.name] = File(body, TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:32])
    return files


class Console:
    """`/` answers the page; `/console/{name}` its assets. The page never caches (a new
    deployment is seen at once); assets are revalidated by ETag, so an unchanged file costs
    a 304 and a changed one is never served stale."""

    def __init__(self, files: dict[str, File] | None = None) -> None:
        self.files = load_files() if files is None else files

    def _send(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        file = self.files.get(name)
        if file is None:
            raise falcon.HTTPNotFound(description=f"The console has no file {name!r}.")
        resp.set_headers(SECURITY_HEADERS)
        resp.etag = file.etag
        resp.cache_control = ["no-cache"]
        if any(tag in (file.etag, "*") for tag in req.if_none_match or ()):
            resp.status = falcon.HTTP_304  # no body, so no Content-Type either
            return
        resp.content_type = file.content_type
        resp.data = file.body

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._send(req, resp, "index.html")

    def on_get_asset(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        self._send(req, resp, name)


def install(app: falcon.App) -> None:
    console = Console()
    app.add_route("/", console)
    app.add_route(f"{ASSETS}/{{name}}", console, suffix="asset")
