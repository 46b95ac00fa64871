"""Database engines and sessions, for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from core.infra.private_files import create_private

T = TypeVar("T")
SQLITE_BUSY = 5  # also SQLITE_BUSY_SNAPSHOT (517) once masked to its primary code


def _normalise(url: str) -> tuple[str, str]:
    """Return (async_url, sync_url) for a user-given database URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return (
            parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False),
            parsed.set(drivername="sqlite").render_as_string(hide_password=False),
        )
    if backend in ("postgresql", "postgres"):
        pg = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return pg, pg
    raise ValueError(f"unsupported DATABASE_URL backend {backend!r} (use sqlite or postgresql)")


def async_url(url: str) -> str:
    return _normalise(url)[0]


def sync_url(url: str) -> str:
    return _normalise(url)[1]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def insert_for(dialect_name: str) -> Any:
    """The dialect's ``insert`` construct, the one with ``on_conflict_do_nothing``/``_update``."""
    return pg_insert if dialect_name == "postgresql" else sqlite_insert


def _set_pragmas(dbapi_conn, busy_timeout_ms: int) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # busy_timeout first: setting the journal mode needs the lock too. WAL lets readers run
    # beside the single writer; NORMAL is durable at checkpoints and fast enough for an event
    # log; busy_timeout turns lock contention into waits (or, at 0, into an immediate error).
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cur.execute("PRAGMA journal_mode")
    if str(cur.fetchone()[0]).lower() != "wal":  # WAL is a property of the file: set once. Setting
        cur.execute("PRAGMA journal_mode=WAL")  # it again fails at once while another holds the lock.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    _set_pragmas(dbapi_conn, 10_000)


def _sqlite_inline_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    _set_pragmas(dbapi_conn, 0)  # never wait for a lock on the event loop's thread


def _is_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == SQLITE_BUSY


def _in_transaction(session: Session, fn: Callable[..., T], /, *args: Any) -> T:
    try:
        result = fn(session, *args)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


# A JSON ``\u0000`` escape that is not itself escaped (preceded by an even number of backslashes).
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def postgres_json(value: Any) -> str:
    """JSON text for PostgreSQL's ``json``/``jsonb`` columns, which cannot hold the NUL character:
    a NUL that an automation builds (``json('"\\u0000"')``, a fetched body…) becomes U+FFFD, so
    the event, context or blob is stored instead of failing its flush on every retry."""
    text = json.dumps(value)
    # The regex costs ~5 µs a value: only text that holds the escape at all needs it.
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


class Database:
    """One async engine + session factory per database URL.

    :meth:`run_sync` is the fast way to run a short unit of work (the hot path of a run: the
    workspace row, the event inserts, the wait matching, the contexts). On an SQLite file it runs on the
    calling thread through the plain ``sqlite3`` driver: a query costs microseconds there,
    against ~1.5 ms of CPU for the thread hand-offs of one aiosqlite query (measured on the
    2-core bench machine). It never waits for a lock on the event loop: a unit that finds the
    database locked by another writer is rolled back and run again on aiosqlite, whose thread
    waits. On PostgreSQL it runs in an ``AsyncSession`` (no threads involved).
    """

    inline_engine: Engine | None = None

    def __init__(self, url: str):
        self.url = url
        if is_sqlite(url):
            path = make_url(url).database
            if path and path != ":memory:":
                create_sqlite_file(Path(path))
            self.engine: AsyncEngine = create_async_engine(async_url(url))
            sa_event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            if path and path != ":memory:" and "memory" not in str(make_url(url).query.get("mode", "")):
                self.inline_engine = create_engine(sync_url(url), connect_args={"check_same_thread": False})
                sa_event.listen(self.inline_engine, "connect", _sqlite_inline_pragmas)
        else:
            self.engine = create_async_engine(
                async_url(url), pool_size=10, max_overflow=20, pool_pre_ping=True,
                json_serializer=postgres_json,
            )
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self.inline_sessions = (sessionmaker(self.inline_engine, class_=Session, expire_on_commit=False)
                                if self.inline_engine is not None else None)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(session, *args)`` in one transaction, committed when it returns (rolled back if
        it raises). ``fn`` must be synchronous and free of side effects outside the session: a
        unit that meets a locked SQLite database is run a second time (see the class)."""
        if self.inline_sessions is not None:
            try:
                with self.inline_sessions() as session:
                    return _in_transaction(session, fn, *args)
            except OperationalError as exc:
                if not _is_busy(exc):
                    raise
        async with self.sessionmaker() as session:
            # sqlmodel's AsyncSession hands its sqlmodel Session to the function (typed as the
            # plain SQLAlchemy one).
            return await session.run_sync(_in_transaction, fn, *args)  # type: ignore[arg-type]

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.inline_engine is not None:
            self.inline_engine.dispose()

    async def ping(self) -> bool:
        from sqlalchemy import text

        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False


def create_sqlite_file(path: Path) -> None:
    """A new SQLite database file is created owner-only (0600; its -wal and -shm files follow);
    an existing one is left as it is (``tideway run`` narrows the data dir, core/infra/private_files.py)."""
    if str(path).startswith("file:"):
        return  # an SQLite URI filename (e.g. a shared in-memory database): SQLite opens it
    path.parent.mkdir(parents=True, exist_ok=True)
    create_private(path)


def migrate(url: str) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    here = Path(__file__).resolve().parents[2] / "migrations"
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            create_sqlite_file(Path(path))
    command.upgrade(cfg, "head")


async def migrate_async(url: str) -> None:
    await asyncio.to_thread(migrate, url)
