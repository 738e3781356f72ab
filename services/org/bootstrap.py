"""The first platform admin, created once when the system is first provisioned."""

from __future__ import annotations

import os
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.auth import PLATFORM_ADMIN
from services.kit.config import Settings
from services.kit.db import make_engine
from services.org.models import Staff
from services.org.passwords import HASHER

MIN_PASSWORD_LENGTH = 10


def ensure_platform_admin(settings: Settings) -> str | None:
    """Create the platform admin if there is none; returns the password when it
    was generated here (shown once, never stored in clear)."""
    username = os.environ.get("HUIYUAN_ADMIN_USERNAME") or "admin"
    given = os.environ.get("HUIYUAN_ADMIN_PASSWORD") or ""
    if given and len(given) < MIN_PASSWORD_LENGTH:
        raise SystemExit(f"HUIYUAN_ADMIN_PASSWORD must have at least {MIN_PASSWORD_LENGTH} characters")
    engine = make_engine(settings.database_url("org"), pool_size=1, application_name="huiyuan-bootstrap")
    try:
        with Session(engine) as session, session.begin():
            if session.scalar(select(Staff.id).where(Staff.role == PLATFORM_ADMIN).limit(1)):
                return None
            password = given or secrets.token_urlsafe(12)
            session.add(
                Staff(
                    chain_id=None,
                    store_id=None,
                    username=username,
                    display_name="Platform admin",
                    role=PLATFORM_ADMIN,
                    status="active",
                    level="",
                    password_hash=HASHER.hash(password),
                    failed_attempts=0,
                )
            )
    finally:
        engine.dispose()
    if given:
        print(f"platform admin '{username}' created with the password from HUIYUAN_ADMIN_PASSWORD")
        return None
    print(f"platform admin '{username}' created; password (shown only now): {password}")
    return password


after_provision = ensure_platform_admin  # run by `python -m services.kit.provision`
