"""Make sure `var/huiyuan.env` holds the secrets a local Huiyuan needs: `python deploy/ensure_env.py`.

The personal-data keys (HUIYUAN_PII_KEY encrypts members' personal data,
HUIYUAN_PII_INDEX_KEY makes the blind index used to look it up) must be stable:
a database written under one key cannot be read under another. So this script
creates a key only when it is missing and never rewrites one that exists,
however often it runs. Standard library only, so it works before any install.

`load_env_file` is shared with `deploy/run_all.py`, so both read the file the
same way.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = REPO_ROOT / "var" / "huiyuan.env"

# Each key is base64 of 32 random bytes (AES-256 / HMAC-SHA-256 sized); each service's
# database role gets a password of its own, so a process can reach only its own schema.
# as services.kit.config.SERVICES (not imported: no nameko here)
SERVICES = ("org", "member", "wallet", "points", "gift", "reporting", "notification")
GENERATED_KEYS = ("HUIYUAN_PII_KEY", "HUIYUAN_PII_INDEX_KEY", *(f"HUIYUAN_DB_PASSWORD_{s.upper()}" for s in SERVICES))

HEADER = """\
# Huiyuan local secrets, made by deploy/ensure_env.py. Keep this file private (mode 0600).
# DO NOT change or delete these keys: personal data already encrypted with them
# becomes unreadable without them. Back this file up with the database.
# Use with: docker compose --env-file var/huiyuan.env up
"""


def new_key() -> str:
    """Base64 of 32 bytes from the OS's CSPRNG."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def load_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and `#` comments are skipped.

    An optional leading `export ` and one pair of matching surrounding quotes
    are removed, so the file can also be sourced by a shell. A missing file
    reads as empty, because callers treat its values as defaults only.
    """
    values: dict[str, str] = {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def ensure_env_file(path: str | os.PathLike[str] = DEFAULT_PATH) -> list[str]:
    """Create the file or append the keys it lacks; return the names added.

    Existing lines are never rewritten, only appended to: losing or replacing
    a key would make the personal data encrypted under it unreadable.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = load_env_file(target)
    missing = [k for k in GENERATED_KEYS if not existing.get(k)]
    if not target.exists():
        # O_EXCL + 0600: never clobber a file that appeared meanwhile, and never
        # let the secrets exist with looser permissions, even for a moment.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(HEADER)
            out.writelines(f"{k}={new_key()}\n" for k in missing)
    elif missing:
        with target.open("a", encoding="utf-8") as out:
            if target.stat().st_size and not target.read_bytes().endswith(b"\n"):
                out.write("\n")
            out.writelines(f"{k}={new_key()}\n" for k in missing)
    os.chmod(target, 0o600)
    return missing


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    added = ensure_env_file(path)
    print(path)
    if added:
        print(f"  added {', '.join(added)}; keep this file: data encrypted with these keys needs them", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
