"""gunicorn settings for the gateway (`gthread`: gunicorn 26+ has no eventlet
worker, and a standalone RPC proxy per thread from a pool serves ~600 req/s on
two cores). Override with HUIYUAN_GATEWAY_* variables."""

import multiprocessing
import os

bind = os.environ.get("HUIYUAN_GATEWAY_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("HUIYUAN_GATEWAY_WORKERS", min(4, multiprocessing.cpu_count())))
threads = int(os.environ.get("HUIYUAN_GATEWAY_THREADS", "8"))
# longer than the RPC timeout, so a slow service answers 504 rather than the worker being killed
timeout = int(os.environ.get("HUIYUAN_GATEWAY_TIMEOUT", "30"))
graceful_timeout = 15
accesslog = None  # the gateway writes its own JSON access lines
