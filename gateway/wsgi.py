"""The WSGI entry point for gunicorn: `gateway.wsgi:app`.

The RPC pool makes its broker connections lazily, in each worker after fork.
"""

from __future__ import annotations

from gateway.app import create_app
from services.kit import config, logs, producers

settings = config.load()
logs.setup("gateway", settings.log_level, settings.log_json)
producers.install()
app = create_app(settings)
