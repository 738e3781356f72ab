"""The HTTP gateway: Falcon under gunicorn, speaking RPC to the services."""
