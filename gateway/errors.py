"""One mapping from errors to HTTP answers (non-negotiable 9).

Every answer that is not a success has the body
`{"error": {"code", "message", "fields"?}}`. Typed errors carry their own
status; Falcon's own errors (unknown route, malformed JSON, wrong method) are
reshaped to match; anything unexpected is logged and answered with a generic
500 that carries the request id, never a stack trace.
"""

from __future__ import annotations

import logging

import falcon

from contracts.errors import HuiyuanError
from gateway import limits

log = logging.getLogger(__name__)


def _send(resp: falcon.Response, status: int, body: dict, headers: dict | None = None) -> None:
    resp.status = status
    resp.media = {"error": body}
    for name, value in (headers or {}).items():
        resp.set_header(name, value)


def handle_typed(req: falcon.Request, resp: falcon.Response, exc: HuiyuanError, params: dict) -> None:
    if exc.status >= 500 and exc.error_code == HuiyuanError.code:
        log.error("request failed: %s", exc)
        body = {
            "code": exc.error_code,
            "message": f"{HuiyuanError.default_message} Request id: {req.context.request_id}.",
        }
        _send(resp, 500, body)
        return
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    _send(resp, exc.status, exc.to_dict(), headers)


# Falcon's own refusals (and gunicorn's, see gateway/gunicorn_conf.py) by status
HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    431: "header_fields_too_large",
}


def handle_http(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError, params: dict) -> None:
    status = exc.status_code
    code = HTTP_CODES.get(status, "http_error")
    message = exc.description or exc.title or "Request refused."
    if isinstance(exc, falcon.MediaMalformedError):
        cause = exc.__cause__
        detail = str(cause) if isinstance(cause, limits.TooDeep) else "check its syntax and encoding (UTF-8)"
        message = f"The body is not valid JSON: {detail}"
    headers = dict(exc.headers or {})
    _send(resp, status, {"code": code, "message": message}, headers)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict) -> None:
    if isinstance(exc, falcon.HTTPError):
        handle_http(req, resp, exc, params)
        return
    log.exception("unexpected error")
    _send(
        resp,
        500,
        {"code": HuiyuanError.code, "message": f"{HuiyuanError.default_message} Request id: {req.context.request_id}."},
    )


def install(app: falcon.App) -> None:
    # Falcon picks the most specific handler registered for an exception's class
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http)
    app.add_error_handler(HuiyuanError, handle_typed)
