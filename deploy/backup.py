"""Back up and restore the whole database: `make backup`, `make restore BACKUP=<file>`.

`python -m deploy.backup backup [--out FILE]` writes one `pg_dump` of the database
(`HUIYUAN_DB_NAME`) in custom format: every service's schema in one snapshot (pg_dump reads
the whole database in one repeatable-read transaction), so the wallet, member, points, gift,
reporting and notification books in it agree with one another as they did at one moment, even
while the system runs. Beside it, `FILE.json` says what it holds and carries a fingerprint
(a one-way hash) of the personal-data keys it was written under, never the keys.

`python -m deploy.backup restore FILE` restores into a **fresh** database named by
`HUIYUAN_RESTORE_DB_NAME` (refused if that database exists: a restore never overwrites data),
with every service's role, schema and role settings made first as provisioning makes them
(`services.kit.provision`), then `pg_restore` in a single transaction.

The dump holds members' personal data encrypted under `HUIYUAN_PII_KEY` and indexed under
`HUIYUAN_PII_INDEX_KEY` (var/huiyuan.env). Those keys are not in the dump: keep them with it.
Both commands say so, and a restore warns when the keys in its environment are not the ones
the backup was written under.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.kit import config, provision
from services.kit.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKUP_DIR = REPO_ROOT / "var" / "backups"
RESTORE_TARGET = "HUIYUAN_RESTORE_DB_NAME"
KEYS_REMINDER = (
    "The personal data in this backup (members' phones, ID numbers, names' search index, the\n"
    "notification providers' secrets) is encrypted under HUIYUAN_PII_KEY and HUIYUAN_PII_INDEX_KEY\n"
    "from var/huiyuan.env. The keys are NOT in the backup: keep var/huiyuan.env (or those two keys)\n"
    "safe and apart from it. Without them a restored database cannot read that data."
)


class BackupError(RuntimeError):
    pass


def key_fingerprint(settings: Settings) -> str:
    """A one-way hash of both personal-data keys: tells whether two environments share them."""
    material = f"huiyuan-pii-keys:{settings.pii_key}:{settings.pii_index_key}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def _libpq(settings: Settings, database: str) -> tuple[list[str], dict[str, str]]:
    """pg_dump/pg_restore connection arguments and environment from the admin URL (the superuser)."""
    url = make_url(settings.admin_url())
    args = [
        "--host",
        url.host or "127.0.0.1",
        "--port",
        str(url.port or 5432),
        "--username",
        url.username or "postgres",
    ]
    env = {**os.environ, "PGDATABASE": database, "PGAPPNAME": "huiyuan-backup"}
    if url.password:
        env["PGPASSWORD"] = url.password
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found: apt-get install -y postgresql-client")
    return found


def backup(settings: Settings, out: Path) -> dict:
    """One consistent pg_dump of the database to `out`, and its description in `out`.json."""
    out.parent.mkdir(parents=True, exist_ok=True)
    args, env = _libpq(settings, settings.db_name)
    partial = out.with_name(out.name + ".partial")
    command = [_tool("pg_dump"), *args, "--format=custom", "--file", str(partial), "--dbname", settings.db_name]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump of {settings.db_name} failed: {result.stderr.strip()}")
    os.chmod(partial, 0o600)  # personal data, even encrypted
    partial.replace(out)  # a file named .dump is always a whole one
    about = {
        "database": settings.db_name,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schemas": list(config.SERVICES),
        "format": "pg_dump custom",
        "pg_dump": subprocess.run([_tool("pg_dump"), "--version"], capture_output=True, text=True).stdout.strip(),
        "bytes": out.stat().st_size,
        "pii_key_fingerprint": key_fingerprint(settings),
    }
    Path(f"{out}.json").write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    return about


def restore(settings: Settings, dump: Path, target: str) -> dict:
    """Restore `dump` into the new database `target`; refused if `target` exists."""
    if not dump.is_file():
        raise BackupError(f"no backup at {dump}")
    if not target:
        raise BackupError(f"name the database to restore into: {RESTORE_TARGET}=<new database name>")
    admin = create_engine(settings.admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target}).first():
                raise BackupError(f"database {target} exists: a restore goes into a fresh database only")
    finally:
        admin.dispose()
    fresh = dataclasses.replace(settings, db_name=target)
    # the roles, their settings in this database and the schemas they own, as provisioning makes them
    provision.ensure_database(fresh)
    provision.ensure_roles_and_schemas(fresh)
    args, env = _libpq(settings, target)
    command = [
        _tool("pg_restore"),
        *args,
        "--dbname",
        target,
        "--single-transaction",
        "--exit-on-error",
        # the schemas provisioning just made (empty) are replaced by the backup's, owners and grants included
        "--clean",
        "--if-exists",
        str(dump),
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore into {target} failed (nothing was restored): {result.stderr.strip()}")
    about = _about(dump)
    about["restored_into"] = target
    about["keys_match"] = about.get("pii_key_fingerprint") == key_fingerprint(settings)
    return about


def _about(dump: Path) -> dict:
    try:
        return json.loads(Path(f"{dump}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def default_path(settings: Settings) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return BACKUP_DIR / f"{settings.db_name}-{stamp}.dump"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup", help="pg_dump the database (every schema, one snapshot)")
    take.add_argument("--out", type=Path, help="the file to write (default var/backups/<db>-<time>.dump)")
    back = commands.add_parser("restore", help=f"restore a backup into the fresh database ${RESTORE_TARGET}")
    back.add_argument("dump", type=Path)
    args = parser.parse_args(argv)
    settings = config.load()
    try:
        if args.command == "backup":
            out = args.out or default_path(settings)
            about = backup(settings, out)
            print(f"backup of {about['database']}: {out} ({about['bytes']:,} bytes, every schema in one snapshot)")
        else:
            about = restore(settings, args.dump, os.environ.get(RESTORE_TARGET, ""))
            print(f"restored {args.dump} into database {about['restored_into']}")
            print(f"  check it: HUIYUAN_DB_NAME={about['restored_into']} make audit")
            if not about["keys_match"]:
                print(
                    "WARNING: the personal-data keys in this environment are not the ones this backup was"
                    " written under (or its .json is missing): members' personal data will not decrypt.",
                    file=sys.stderr,
                )
    except BackupError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 1
    print(KEYS_REMINDER)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
