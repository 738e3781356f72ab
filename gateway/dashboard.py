"""The dashboard page (`/dashboard`) and the charting library it uses, both served from this
gateway's own files: no CDN, so it works where the internet does not. The page signs in with
the API and draws `GET /chains/{id}/reports/dashboard`."""

from __future__ import annotations

from pathlib import Path

import falcon

STATIC = Path(__file__).resolve().parent / "static"
FILES = {"chart.umd.js": "application/javascript; charset=utf-8"}


class DashboardPage:
    def __init__(self) -> None:
        self.page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
        self.files = {name: (STATIC / name).read_bytes() for name in FILES}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.page

    def on_get_static(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        if name not in self.files:
            raise falcon.HTTPNotFound()
        resp.content_type = FILES[name]
        resp.set_header("Cache-Control", "public, max-age=86400")
        resp.data = self.files[name]
