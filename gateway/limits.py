"""Limits on what a request may be, in one place: the gateway enforces them,
gunicorn is configured with them, the README and the OpenAPI document state them.

- A body is at most `MAX_BODY_BYTES` (1 MiB): the largest real request (a consume
  of 100 lines) is a few tens of KiB. Larger is 413, before the body is read.
- JSON nests at most `MAX_JSON_DEPTH` levels: the deepest contract nests 3. A
  deeper body is 400, and is never handed to a recursive parser or validator
  (about 1,000 nested `[` exhaust Python's stack).
- The request line (method, URL, version) is at most `MAX_REQUEST_LINE` bytes,
  gunicorn's ceiling: every valid query fits (the longest, a member search with
  every filter at its maximum length in 4-byte characters, is about 5,500 bytes
  percent-encoded). Longer is 414.
- At most `MAX_HEADER_FIELDS` headers of at most `MAX_HEADER_FIELD_BYTES` each;
  more or longer is 431.
"""

from __future__ import annotations

import json
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_REQUEST_LINE = 8190
MAX_HEADER_FIELDS = 100
MAX_HEADER_FIELD_BYTES = 8190


class TooDeep(ValueError):
    """A JSON body nested deeper than `MAX_JSON_DEPTH`."""


def _depth(value: Any) -> int:
    # iterative, so a deep value cannot exhaust the stack while it is measured
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def loads(text: str) -> Any:
    """`json.loads` that refuses a body nested too deeply, as a ValueError (Falcon answers 400)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise TooDeep(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.")
    return value
