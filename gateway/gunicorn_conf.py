"""gunicorn settings for the gateway (`gthread`: gunicorn 26+ has no eventlet
worker, and a standalone RPC proxy per thread from a pool serves ~600 req/s on
two cores). Override with HUIYUAN_GATEWAY_* variables.

gunicorn refuses some requests before the application sees them (a request
line or headers over the limits below, a malformed request line); its own
answer is an HTML page. `JsonErrorWorker` answers those in the API's error
shape instead, `{"error": {"code", "message"}}`, with the same status."""

import json
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import ThreadWorker

from gateway import limits

# prometheus-client's multiprocess mode (gateway/metrics.py): every worker writes its counts to
# files in one directory, which /metrics sums. Set before the workers import prometheus_client
# (it chooses at import); one directory per master, so two gateways on a machine never mix counts.
METRICS_ROOT = Path(
    os.environ.get("HUIYUAN_GATEWAY_METRICS_DIR") or Path(__file__).resolve().parent.parent / "var" / "gateway-metrics"
)
METRICS_DIR = METRICS_ROOT / str(os.getpid())
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)

bind = os.environ.get("HUIYUAN_GATEWAY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HUIYUAN_GATEWAY_WORKERS", min(4, multiprocessing.cpu_count())))
threads = int(os.environ.get("HUIYUAN_GATEWAY_THREADS", "8"))
# longer than the RPC timeout, so a slow service answers 504 rather than the worker being killed
timeout = int(os.environ.get("HUIYUAN_GATEWAY_TIMEOUT", "30"))
graceful_timeout = 15
accesslog = None  # the gateway writes its own JSON access lines
# deliberate limits (gateway/limits.py says why these numbers); over them is 414 or 431
limit_request_line = limits.MAX_REQUEST_LINE
limit_request_fields = limits.MAX_HEADER_FIELDS
limit_request_field_size = limits.MAX_HEADER_FIELD_BYTES

_REFUSALS = {
    http_errors.LimitRequestLine: (414, "URI Too Long", "uri_too_long"),
    http_errors.LimitRequestHeaders: (431, "Request Header Fields Too Large", "header_fields_too_large"),
    http_errors.UnsupportedTransferCoding: (501, "Not Implemented", "not_implemented"),
    http_errors.ExpectationFailed: (417, "Expectation Failed", "expectation_failed"),
}
# parse errors that are not the client's fault: gunicorn's own 500 stands
_NOT_THE_CLIENTS = (
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
    http_errors.ConfigurationProblem,
)


def _json_refusal(exc: Exception) -> tuple[int, str, bytes]:
    status, reason, code = _REFUSALS.get(type(exc), (400, "Bad Request", "bad_request"))
    limit = {
        414: f"The request line may be at most {limits.MAX_REQUEST_LINE} bytes.",
        431: f"At most {limits.MAX_HEADER_FIELDS} headers of at most {limits.MAX_HEADER_FIELD_BYTES} bytes each.",
    }.get(status, "The request could not be read as HTTP.")
    body = json.dumps({"error": {"code": code, "message": f"{limit} ({exc})"}}).encode()
    return status, reason, body


class JsonErrorWorker(ThreadWorker):
    """gthread, but a request gunicorn refuses gets the API's JSON error body."""

    def handle_error(self, req, client, addr, exc) -> None:  # noqa: ANN001 - gunicorn's signature
        if not isinstance(exc, http_errors.ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
            super().handle_error(req, client, addr, exc)  # the application's own failures: gunicorn's 500
            return
        status, reason, body = _json_refusal(exc)
        self.log.warning("refused request from ip=%s: %s", (addr or ("",))[0], exc)
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin1")
        try:
            util.write_nonblock(client, head + body)
        except Exception:  # noqa: BLE001 - the client may already be gone
            self.log.debug("could not send the refusal")


worker_class = JsonErrorWorker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fresh_metrics_dir(root: Path) -> Path:
    """`root/<this master's pid>`, empty; the directories of masters that are gone are removed."""
    mine = root / str(os.getpid())
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.name.isdigit() and old != mine and not _alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(mine, ignore_errors=True)
    mine.mkdir(parents=True)
    return mine


def on_starting(server) -> None:  # noqa: ANN001 - gunicorn's hook
    """Before any worker is forked: the counts' directory, or the system's temporary one when the
    configured one cannot be written (a read-only image); the workers inherit the variable."""
    global METRICS_DIR
    try:
        METRICS_DIR = _fresh_metrics_dir(METRICS_ROOT)
    except OSError as exc:
        METRICS_DIR = _fresh_metrics_dir(Path(tempfile.gettempdir()) / "huiyuan-gateway-metrics")
        server.log.warning("metrics: %s is not writable (%s); counting in %s", METRICS_ROOT, exc, METRICS_DIR)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook
    # its counters stay (a total never goes down because a worker was recycled); live gauges go
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ANN001 - gunicorn's hook
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
