"""Users in the ledger: create, find, list, update. Password hashing lives above, in access."""

from __future__ import annotations

import sqlalchemy as sa

from jobdeck import errors, model
from jobdeck.store import rows, schema
from jobdeck.store.database import db_now

u = schema.users


def create(conn: sa.Connection, username: str, display_name: str, password_hash: str, is_admin: bool) -> model.User:
    if conn.execute(sa.select(u.c.id).where(u.c.username == username)).first():
        raise errors.UserExists(f"A user named {username!r} already exists.")
    row = conn.execute(
        sa.insert(u)
        .values(
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            is_admin=is_admin,
            disabled=False,
            failed_logins=0,
            created_at=db_now(),
        )
        .returning(*u.c)
    ).one()
    return rows.user(row)


def get(conn: sa.Connection, user_id: int) -> model.User:
    row = conn.execute(sa.select(u).where(u.c.id == user_id)).first()
    if row is None:
        raise errors.UserNotFound()
    return rows.user(row)


def by_username(conn: sa.Connection, username: str) -> model.User:
    row = conn.execute(sa.select(u).where(u.c.username == username)).first()
    if row is None:
        raise errors.UserNotFound(f"No user named {username!r}.")
    return rows.user(row)


def password_hash(conn: sa.Connection, user_id: int) -> str:
    return str(conn.execute(sa.select(u.c.password_hash).where(u.c.id == user_id)).scalar_one())


def list_all(conn: sa.Connection) -> list[model.User]:
    return [rows.user(r) for r in conn.execute(sa.select(u).order_by(u.c.username))]


def set_password_hash(conn: sa.Connection, user_id: int, new_hash: str) -> None:
    conn.execute(sa.update(u).where(u.c.id == user_id).values(password_hash=new_hash))


def set_disabled(conn: sa.Connection, user_id: int, disabled: bool) -> None:
    conn.execute(sa.update(u).where(u.c.id == user_id).values(disabled=disabled))


def find(conn: sa.Connection, username: str) -> model.User | None:
    row = conn.execute(sa.select(u).where(u.c.username == username)).first()
    return rows.user(row) if row is not None else None


def set_profile(conn: sa.Connection, user_id: int, display_name: str, is_admin: bool) -> None:
    """What an identity provider or a host application says about a user: the name shown, the admin flag."""
    conn.execute(sa.update(u).where(u.c.id == user_id).values(display_name=display_name, is_admin=is_admin))
