"""`make bench` (`python -m bench`): see bench/main.py and README "Performance"."""

import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces it is in maintenance mode on import
    import services  # noqa: F401
    from bench.main import main

sys.exit(main())
