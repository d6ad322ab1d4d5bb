"""Users, API tokens and the audit trail, beside the layers of either store.

* PostGIS: the tables ``amayesh_users``, ``amayesh_tokens``, ``amayesh_sessions``,
  ``amayesh_audit`` and ``amayesh_secrets`` in the same database.
* GeoPackage: the same tables in ``<store>.accounts.sqlite`` next to the GeoPackage (mode 0600).
  The GeoPackage is rewritten whole on every import; accounts change far more often (a password
  reset, a revoked token) and must not invalidate the in-memory layers, so they live apart.

Passwords are argon2id hashes (argon2-cffi); API tokens are random 256-bit strings of which only
the SHA-256 is stored. Sign-in sessions are rows too (the SHA-256 of the cookie's random session
id): signing out, an administrator, a password reset, a role change or disabling the user ends
them on the server, so a copied cookie stops working at once. The audit table is insert-only: triggers refuse UPDATE and DELETE in both
databases (and in PostGIS the service's role has no UPDATE/DELETE privilege on it).
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo.errors import AccountError

ROLES = ("admin", "planner", "licensing_officer", "provincial_director")
#: Roles whose provinces must be assigned: they see nothing outside them.
SCOPED_ROLES = ("licensing_officer", "provincial_director")
TOKEN_PREFIX = "amy_"
#: How long an ended or expired session is kept (``users sessions`` lists live ones only).
SESSION_HISTORY = timedelta(days=30)

#: argon2id with RFC 9106's second recommended option: t=3, 64 MiB, 4 lanes (about 0.15 s a hash
#: here). A stored hash made with other parameters is re-made with these at its next sign-in.
PASSWORD_PARAMETERS = profiles.RFC_9106_LOW_MEMORY
#: Set by the test suite only (``tests/conftest.py``): its hundreds of throw-away accounts use
#: argon2-cffi's profile for tests (``CHEAPEST``) instead of costing 0.15 s of CPU each. Never set
#: it on a service: its passwords would be cheap to guess from a stolen database (and are re-made
#: expensive at the next sign-in once it is unset).
CHEAP_HASHES_FOR_TESTS = "AMAYESH_TEST_CHEAP_PASSWORD_HASHES"

_hasher = PasswordHasher.from_parameters(
    profiles.CHEAPEST if os.environ.get(CHEAP_HASHES_FOR_TESTS) == "1" else PASSWORD_PARAMETERS
)


@dataclass(frozen=True)
class User:
    username: str
    role: str
    provinces: tuple[str, ...] = ()
    display_name: str = ""
    disabled: bool = False
    session_epoch: int = 0
    #: set when the user came with an API token
    token_id: str | None = field(default=None, compare=False)

    @property
    def national(self) -> bool:
        return self.role not in SCOPED_ROLES


metadata = sa.MetaData()
users = sa.Table(
    "amayesh_users",
    metadata,
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("provinces", sa.Text, nullable=False, server_default=""),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # Raised by a password reset or a role change: every session cookie issued before is void.
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in ROLES)), name="users_role_known"),
    comment="Amayesh users (argon2id password hashes)",
)
tokens = sa.Table(
    "amayesh_tokens",
    metadata,
    sa.Column("token_id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, sa.ForeignKey("amayesh_users.username"), nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    comment="API tokens for programs (SHA-256 of the token, never the token)",
)
sessions = sa.Table(
    "amayesh_sessions",
    metadata,
    sa.Column("session_hash", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, sa.ForeignKey("amayesh_users.username"), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ended_by", sa.Text, nullable=True),
    sa.Column("client", sa.Text, nullable=False, server_default=""),
    comment="sign-in sessions (SHA-256 of the cookie's session id, never the id)",
)
audit = sa.Table(
    "amayesh_audit",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("old_value", sa.Text, nullable=True),
    sa.Column("new_value", sa.Text, nullable=True),
    comment="insert-only audit trail: who did what, when, with old and new values",
)
secrets_table = sa.Table(
    "amayesh_secrets",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_SQLITE_AUDIT_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS amayesh_audit_no_update BEFORE UPDATE ON amayesh_audit
       BEGIN SELECT RAISE(ABORT, 'amayesh_audit is insert-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS amayesh_audit_no_delete BEFORE DELETE ON amayesh_audit
       BEGIN SELECT RAISE(ABORT, 'amayesh_audit is insert-only'); END""",
]
_PG_AUDIT_TRIGGER = [
    """CREATE OR REPLACE FUNCTION amayesh_audit_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'amayesh_audit is insert-only'; END $$""",
    "DROP TRIGGER IF EXISTS amayesh_audit_insert_only ON amayesh_audit",
    """CREATE TRIGGER amayesh_audit_insert_only BEFORE UPDATE OR DELETE OR TRUNCATE ON amayesh_audit
       FOR EACH STATEMENT EXECUTE FUNCTION amayesh_audit_insert_only()""",
]


def accounts_url(store_url: str) -> str:
    """Where the accounts of the store named ``store_url`` live (a SQLAlchemy URL)."""
    if store_url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        url = sa.engine.make_url(store_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    path = Path(store_url.removeprefix("gpkg://"))
    return f"sqlite:///{path.with_name(path.stem + '.accounts.sqlite')}"


#: A token's row with its user's, built once (each request that signs in with a token runs it;
#: building the statement anew took a fifth of the lookup).
_TOKEN_WITH_USER = (
    sa.select(tokens, users)
    .join(users, users.c.username == tokens.c.username)
    .where(tokens.c.token_hash == sa.bindparam("token_hash"))
)


def _now() -> datetime:
    return datetime.now(UTC)


def _provinces(text: str) -> tuple[str, ...]:
    return tuple(p for p in text.split(",") if p)


def _check_provinces(provinces: Iterable[str]) -> tuple[str, ...]:
    out = tuple(sorted({str(p).strip().zfill(2) for p in provinces if str(p).strip()}))
    bad = [p for p in out if not (len(p) == 2 and p.isdigit())]
    if bad:
        raise AccountError(f"province codes are two digits, not {', '.join(bad)}")
    return out


#: Runs a person types instead of a password: digits and the rows of the keyboard.
_RUNS = ("01234567890123456789", "98765432109876543210", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The commonest passwords (``store/common_passwords.txt``, shipped with the package)."""
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(
        _squeeze(line) for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def _squeeze(text: str) -> str:
    return "".join(text.casefold().split())


def check_password_strength(password: str, username: str) -> None:
    """Refuse a password that is blank, short, the user's name or one of the commonest.

    Common means: in ``common_passwords`` as it is, or once digits and symbols at either end are
    taken off ("Password1234!", "1234qwerty"), or a run of the keyboard or of digits, or made of
    fewer than five different characters. Messages are in Persian and English.
    """
    if not password.strip():
        raise AccountError(
            "گذرواژه نمی‌تواند خالی یا فقط فاصله باشد · a password cannot be blank or only spaces"
        )
    if len(password.strip()) < 12:
        raise AccountError(
            "گذرواژه دست‌کم ۱۲ نویسه می‌خواهد · a password needs at least 12 characters "
            "(spaces at either end do not count)"
        )
    squeezed = _squeeze(password)
    if username.casefold() in squeezed:
        raise AccountError(
            "گذرواژه نباید نام کاربری را در خود داشته باشد · a password must not contain the user name"
        )
    core = squeezed.strip("0123456789!@#$%^&*()_+-=.,;:?/\\|~`'\"[]{}<>")
    common = common_passwords()
    if (
        squeezed in common
        or core in common
        or any(squeezed in run for run in _RUNS)
        or len(set(squeezed)) < 5
    ):
        raise AccountError(
            "این گذرواژه از رایج‌ترین گذرواژه‌هاست و به آسانی حدس زده می‌شود؛ چند واژهٔ نامربوط را کنار هم بگذارید "
            "· this is one of the commonest passwords and easily guessed; choose another, e.g. a few "
            "unrelated words"
        )


class Accounts:
    """The account tables of one store."""

    def __init__(self, store_url: str, *, url: str | None = None) -> None:
        self.url = url or accounts_url(store_url)
        self.dialect = "sqlite" if self.url.startswith("sqlite") else "postgresql"
        if self.dialect == "sqlite":
            path = Path(self.url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.touch(mode=0o600)
        self.engine = sa.create_engine(self.url, pool_pre_ping=self.dialect != "sqlite")
        self._ready = False

    def close(self) -> None:
        self.engine.dispose()

    # ---- schema -----------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the tables (and the audit triggers) if they are missing."""
        if self._ready:
            return
        with self.engine.begin() as conn:
            present = set(sa.inspect(conn).get_table_names())
            if not {t.name for t in metadata.sorted_tables} <= present:
                metadata.create_all(conn, checkfirst=True)
                for sql in _SQLITE_AUDIT_TRIGGERS if self.dialect == "sqlite" else _PG_AUDIT_TRIGGER:
                    conn.exec_driver_sql(sql)
        self._ready = True

    # ---- secrets ----------------------------------------------------------------------------

    def secret(self, name: str = "session") -> bytes:
        """A random key kept in the store (generated on first use): signs the session cookies."""
        self.ensure()
        with self.engine.begin() as conn:
            value = conn.execute(
                sa.select(secrets_table.c.value).where(secrets_table.c.name == name)
            ).scalar()
            if value is None:
                value = secrets.token_hex(32)
                conn.execute(sa.insert(secrets_table).values(name=name, value=value))
        return bytes.fromhex(value)

    # ---- audit ------------------------------------------------------------------------------

    def record(
        self, conn: sa.Connection | None, actor: str, action: str, target: str, old=None, new=None
    ) -> None:
        """Add an audit row (in ``conn``'s transaction when given)."""
        values = {
            "at": _now(),
            "actor": actor,
            "action": action,
            "target": target,
            "old_value": None if old is None else json.dumps(old, ensure_ascii=False, default=str),
            "new_value": None if new is None else json.dumps(new, ensure_ascii=False, default=str),
        }
        if conn is not None:
            conn.execute(sa.insert(audit).values(**values))
            return
        self.ensure()
        with self.engine.begin() as c:
            c.execute(sa.insert(audit).values(**values))

    def audit_rows(self) -> list[dict]:
        self.ensure()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audit).order_by(audit.c.audit_id)).mappings().all()
        return [dict(r) for r in rows]

    # ---- users ------------------------------------------------------------------------------

    @staticmethod
    def _user(row) -> User:
        return User(
            username=row.username,
            role=row.role,
            provinces=_provinces(row.provinces),
            display_name=row.display_name,
            disabled=bool(row.disabled),
            session_epoch=int(row.session_epoch),
        )

    @staticmethod
    def _public(user: User) -> dict:
        return {
            "role": user.role,
            "provinces": list(user.provinces),
            "display_name": user.display_name,
            "disabled": user.disabled,
        }

    def get(self, username: str) -> User | None:
        self.ensure()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        return None if row is None else self._user(row)

    def list(self) -> list[User]:
        self.ensure()
        with self.engine.connect() as conn:
            return [self._user(r) for r in conn.execute(sa.select(users).order_by(users.c.username))]

    def add(
        self,
        username: str,
        password: str,
        role: str,
        provinces: Iterable[str] = (),
        *,
        display_name: str = "",
        actor: str = "cli",
        check_strength: bool = True,
    ) -> User:
        if not username or not username.replace("_", "").replace(".", "").replace("-", "").isalnum():
            raise AccountError("a user name is letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        provs = _check_provinces(provinces)
        if role in SCOPED_ROLES and not provs:
            raise AccountError(f"a {role} needs at least one province (--provinces 11,07)")
        if check_strength:
            check_password_strength(password, username)
        self.ensure()
        user = User(username, role, provs, display_name)
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users.c.username).where(users.c.username == username)).first():
                raise AccountError(f"user {username!r} exists already")
            conn.execute(
                sa.insert(users).values(
                    username=username,
                    password_hash=_hasher.hash(password),
                    role=role,
                    provinces=",".join(provs),
                    display_name=display_name,
                    disabled=False,
                    session_epoch=0,
                    created_at=_now(),
                )
            )
            self.record(conn, actor, "user.add", f"user:{username}", None, self._public(user))
        return user

    def _change(
        self, username: str, actor: str, action: str, *, end_sessions: bool = False, **values
    ) -> User:
        self.ensure()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(users).where(users.c.username == username)).first()
            if row is None:
                raise AccountError(f"no user {username!r}")
            old = self._user(row)
            conn.execute(sa.update(users).where(users.c.username == username).values(**values))
            if end_sessions:
                self._end_sessions(conn, username, actor, action)
            new = self._user(conn.execute(sa.select(users).where(users.c.username == username)).first())
            self.record(conn, actor, action, f"user:{username}", self._public(old), self._public(new))
        return new

    def set_role(self, username: str, role: str, *, actor: str = "cli") -> User:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        if role in SCOPED_ROLES and not user.provinces:
            raise AccountError(f"a {role} needs provinces: set them first (users set-provinces)")
        return self._change(
            username,
            actor,
            "user.set_role",
            end_sessions=True,
            role=role,
            session_epoch=users.c.session_epoch + 1,
        )

    def set_provinces(self, username: str, provinces: Iterable[str], *, actor: str = "cli") -> User:
        provs = _check_provinces(provinces)
        user = self.get(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        if user.role in SCOPED_ROLES and not provs:
            raise AccountError(f"a {user.role} needs at least one province")
        return self._change(username, actor, "user.set_provinces", provinces=",".join(provs))

    def reset_password(
        self, username: str, password: str, *, actor: str = "cli", check_strength: bool = True
    ) -> User:
        if check_strength:
            check_password_strength(password, username)
        return self._change(
            username,
            actor,
            "user.reset_password",
            end_sessions=True,
            password_hash=_hasher.hash(password),
            session_epoch=users.c.session_epoch + 1,
        )

    def set_disabled(self, username: str, disabled: bool, *, actor: str = "cli") -> User:
        return self._change(
            username,
            actor,
            "user.disable" if disabled else "user.enable",
            end_sessions=disabled,
            disabled=disabled,
            session_epoch=users.c.session_epoch + 1,
        )

    def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account enabled, else None (same time either way)."""
        self.ensure()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.username == username)).first()
        stored = row.password_hash if row is not None else _dummy_hash()
        try:
            ok: bool = _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or row.disabled:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(users)
                    .where(users.c.username == username)
                    .values(password_hash=_hasher.hash(password))
                )
        return self._user(row)

    # ---- sign-in sessions -------------------------------------------------------------------

    def open_session(self, username: str, expires: datetime, *, client: str = "") -> str:
        """A new session of ``username`` until ``expires``: its id (kept in the cookie only)."""
        self.ensure()
        session_id = secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            # Sessions over a month past their end are history (the audit trail keeps sign-ins).
            conn.execute(sa.delete(sessions).where(sessions.c.expires_at < _now() - SESSION_HISTORY))
            conn.execute(
                sa.insert(sessions).values(
                    session_hash=_token_hash(session_id),
                    username=username,
                    created_at=_now(),
                    expires_at=expires,
                    client=client[:200],
                )
            )
        return session_id

    def session_user(self, session_id: str, now: datetime | None = None) -> User | None:
        """The user of a live session (not ended, not expired, user enabled), else None."""
        self.ensure()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions.c.expires_at, sessions.c.ended_at, users)
                .join(users, users.c.username == sessions.c.username)
                .where(sessions.c.session_hash == _token_hash(session_id))
            ).first()
        if row is None or row.ended_at is not None or row.disabled:
            return None
        if _aware(row.expires_at) <= (now or _now()):
            return None
        return self._user(row)

    def end_session(self, session_id: str, *, actor: str = "sign_out") -> bool:
        """End one session (signing out); False if it was not live."""
        self.ensure()
        with self.engine.begin() as conn:
            ended = conn.execute(
                sa.update(sessions)
                .where(sessions.c.session_hash == _token_hash(session_id), sessions.c.ended_at.is_(None))
                .values(ended_at=_now(), ended_by=actor)
                .returning(sessions.c.username)
            ).first()
            if ended is not None:
                self.record(conn, actor, "session.end", f"user:{ended.username}")
        return ended is not None

    def _end_sessions(self, conn: sa.Connection, username: str, actor: str, why: str) -> int:
        n = conn.execute(
            sa.update(sessions)
            .where(
                sessions.c.username == username,
                sessions.c.ended_at.is_(None),
                sessions.c.expires_at > _now(),
            )
            .values(ended_at=_now(), ended_by=f"{actor} ({why})")
        ).rowcount
        if n:
            self.record(conn, actor, "session.revoke", f"user:{username}", None, {"sessions": n, "why": why})
        return int(n or 0)

    def revoke_sessions(self, username: str, *, actor: str = "cli") -> int:
        """End every live session of ``username``; how many were ended."""
        self.ensure()
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users.c.username).where(users.c.username == username)).first() is None:
                raise AccountError(f"no user {username!r}")
            return self._end_sessions(conn, username, actor, "sessions revoked")

    def sessions_of(self, username: str, *, live_only: bool = True) -> builtins.list[dict]:
        """The sessions of ``username``, newest first: a short id, when it began and ends, the
        client it began from, and whether it is live."""
        self.ensure()
        if self.get(username) is None:
            raise AccountError(f"no user {username!r}")
        now = _now()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(sessions)
                .where(sessions.c.username == username)
                .order_by(sessions.c.created_at.desc())
            ).all()
        out = []
        for r in rows:
            live = r.ended_at is None and _aware(r.expires_at) > now
            if live_only and not live:
                continue
            out.append(
                {
                    "session": r.session_hash[:12],
                    "created_at": _aware(r.created_at).isoformat(),
                    "expires_at": _aware(r.expires_at).isoformat(),
                    "ended_at": None if r.ended_at is None else _aware(r.ended_at).isoformat(),
                    "client": r.client,
                    "live": live,
                }
            )
        return out

    # ---- tokens -----------------------------------------------------------------------------

    def issue_token(
        self, username: str, *, label: str = "", days: int | None = 365, actor: str = "cli"
    ) -> tuple[str, str]:
        """A new API token for ``username``: (token id, the token). Only its hash is stored."""
        if self.get(username) is None:
            raise AccountError(f"no user {username!r}")
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        expires = None if days is None else _now() + timedelta(days=days)
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(tokens).values(
                    token_id=token_id,
                    username=username,
                    token_hash=_token_hash(token),
                    label=label,
                    created_at=_now(),
                    expires_at=expires,
                )
            )
            self.record(
                conn, actor, "token.issue", f"user:{username}", None, {"token_id": token_id, "label": label}
            )
        return token_id, token

    def revoke_token(self, token_id: str, *, actor: str = "cli") -> None:
        self.ensure()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(tokens).where(tokens.c.token_id == token_id)).first()
            if row is None:
                raise AccountError(f"no token {token_id!r}")
            conn.execute(sa.update(tokens).where(tokens.c.token_id == token_id).values(revoked_at=_now()))
            self.record(conn, actor, "token.revoke", f"user:{row.username}", {"token_id": token_id}, None)

    def tokens_of(self, username: str) -> builtins.list[dict]:
        self.ensure()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tokens.c.token_id, tokens.c.label, tokens.c.expires_at, tokens.c.revoked_at).where(
                    tokens.c.username == username
                )
            ).mappings()
            return [dict(r) for r in rows]

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        self.ensure()
        with self.engine.connect() as conn:
            row = conn.execute(_TOKEN_WITH_USER, {"token_hash": _token_hash(token)}).first()
        if row is None or row.revoked_at is not None or row.disabled:
            return None
        if row.expires_at is not None and _aware(row.expires_at) <= _now():
            return None
        user = self._user(row)
        return User(**{**user.__dict__, "token_id": row.token_id})


def _aware(when: datetime) -> datetime:
    """SQLite gives naive UTC back: make it aware."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that a wrong name costs as long as a
    wrong password. Made at the first sign-in, not when the module is imported (0.17 s of CPU
    for every process that never signs anyone in: the command line, export workers)."""
    return _hasher.hash(secrets.token_hex(16))


def cheap_hashes() -> bool:
    """Whether this process hashes with the tests' cheap profile (``CHEAP_HASHES_FOR_TESTS``)."""
    return os.environ.get(CHEAP_HASHES_FOR_TESTS) == "1"


def open_accounts(store_url: str) -> Accounts:
    return Accounts(store_url)


def demo_password(role: str) -> str:
    """The documented demo password of a role's demo account (README: demo only)."""
    return f"demo-{role.replace('_', '-')}-1404"


__all__ = ["ROLES", "SCOPED_ROLES", "AccountError", "Accounts", "User", "open_accounts", "os"]
