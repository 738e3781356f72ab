"""Huiyuan's services, one package each, and the kit they share."""

import warnings

# eventlet announces on import that it is in maintenance mode; nameko 2 needs it
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
