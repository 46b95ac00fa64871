"""Files only the owner may read: the data dir (0700) and everything in it (0600) — issue 14 item 7.

The data dir holds the SQLite database, the Temporal dev server's database and log, the secrets
and token-signing keys and the admin token: each is created with its final mode (never created
readable and narrowed afterwards), and ``secure_data_dir`` narrows what an older version left
group- or world-readable, at every start of ``tideway run|api|worker``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# Processes Tideway starts (the Temporal dev server) create their files owner-only too.
CHILD_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner can enter (created, or narrowed if it exists)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(stat.S_IMODE(path.stat().st_mode) & DIR_MODE)
    return path


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite accepts an empty file as a
    new database, and gives its -wal, -shm and -journal files the database's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, a file readable by its owner only from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_CREAT
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def open_private_log(path: Path) -> int:
    """A file descriptor appending to ``path`` (created 0600), for a child process's output."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)


# What Tideway keeps in the data dir; other files there are the operator's and left alone (a data
# dir pointed at a shared folder by mistake must not have all its files narrowed).
DATA_FILES = ("tideway.db", "temporal.db", "temporal.log", "secrets.key", "jwt.key", "admin-token")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def secure_data_dir(path: Path) -> list[Path]:
    """Create the data dir 0700 and remove group and other permissions from it and from the
    files Tideway keeps in it. Returns what had to be narrowed (made by an older version)."""
    narrowed: list[Path] = []
    if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
        narrowed.append(path)
    private_dir(path)
    names = [*DATA_FILES, *(f"{db}{side}" for db in ("tideway.db", "temporal.db") for side in SQLITE_SIDE_FILES)]
    for name in names:
        entry = path / name
        if not entry.exists() or entry.is_symlink():
            continue  # never follow a link out of the data dir
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if mode & 0o077:
            entry.chmod(mode & ~0o077)
            narrowed.append(entry)
    return narrowed
