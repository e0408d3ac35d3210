"""Atomic file writing: a reader sees the old complete file or the new complete file, never half of one."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no locks, stale folders are left alone
    fcntl = None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``, else delete it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def atomic_dir(path: str | Path, *, own: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    Readers see the old complete folder, or (for the instant between two renames) none, or
    the new complete folder; never a mix. Entries of the old folder that the new one does
    not have (files put there by other tools) are carried over as hard links (copies across
    file systems), except those named in ``own`` (what the writer writes when it applies,
    e.g. a layer this run has no data for): those are dropped, not left stale. On failure the
    temporary folder is deleted and ``path`` is left alone.
    A process killed mid-way leaves only hidden ``.<name>.*.tmp`` (or ``.old``) siblings behind;
    the next run for the same ``path`` removes them (:func:`clean_stale`).
    """
    path = Path(path).absolute()
    if path.is_symlink():  # replace the folder the link points to, keep the link
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "not a directory", str(path))
    clean_stale(path)
    tmp, lock = _locked_tmp_dir(path)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0700; give the usual folder mode
    try:
        yield tmp
        if path.is_dir():
            for entry in path.iterdir():
                if (not (tmp / entry.name).exists() and not entry.name.startswith(f".{path.name}.")
                        and entry.name not in own):
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.copytree(entry, tmp / entry.name, symlinks=True, copy_function=_link_or_copy)
                    else:
                        _link_or_copy(entry, tmp / entry.name)
            old = tmp.with_name(tmp.name[: -len(".tmp")] + ".old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if lock is not None:
            os.close(lock)


@contextmanager
def atomic_files(folder: str | Path, *, work: str | Path) -> Iterator[Path]:
    """Yield a temporary folder to write a set of files into; on success each file is moved into
    ``folder`` (renames, so none lands before all are written in full), else the temporary
    folder is deleted and ``folder``'s files are left as they were (e.g. after a full disk).
    The temporary folder, ``.files.XXXXXXXX.tmp``, is made in ``work`` (a folder of the
    writer's own on the same file system); :func:`clean_stale` of ``work / "files"`` removes
    it after a killed run."""
    anchor = Path(work).absolute() / "files"
    anchor.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(anchor)
    tmp, lock = _locked_tmp_dir(anchor)
    try:
        yield tmp
        for entry in sorted(tmp.iterdir()):
            os.replace(entry, Path(folder) / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def _stale_name(path: Path) -> re.Pattern:
    """The names :func:`atomic_dir` gives its temporary siblings of ``path`` (``mkdtemp``'s 8 random characters)."""
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.(tmp|old)")


def _lock(folder: Path) -> int | None:
    """An open descriptor of ``folder`` holding an exclusive lock on it; None if another process holds it."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _locked_tmp_dir(path: Path) -> tuple[Path, int | None]:
    """A new temporary sibling folder of ``path``, locked for as long as this process lives
    (the lock tells :func:`clean_stale` of another run that the folder is in use)."""
    while True:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
        if fcntl is None:
            return tmp, None
        try:
            fd = _lock(tmp)
        except FileNotFoundError:  # removed by another run's clean_stale between mkdtemp and open
            continue
        if fd is None:
            continue  # another run's clean_stale holds it and is removing it
        try:
            if os.path.samestat(os.fstat(fd), os.stat(tmp)):
                return tmp, fd
        except FileNotFoundError:
            pass
        os.close(fd)


def stale_names(folder: str | Path, names) -> list[str]:
    """The entries of ``folder`` that :func:`atomic_dir` (or :func:`atomic_files`) runs for
    ``folder / name`` (each of ``names``) left behind when killed: what :func:`clean_stale` removes."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    patterns = [_stale_name(folder / n) for n in names]
    return sorted(e.name for e in folder.iterdir() if any(p.fullmatch(e.name) for p in patterns))


def clean_stale(path: str | Path) -> list[Path]:
    """Remove the hidden ``.<name>.XXXXXXXX.tmp`` / ``.old`` siblings of ``path`` that killed runs of
    :func:`atomic_dir` left behind; returns them. Only folders named exactly as :func:`atomic_dir`
    names them for this ``path`` are touched, and a ``.tmp`` folder only when no live process
    holds its lock (a run writing the same output at this moment keeps its folder)."""
    path = Path(path).absolute()
    if fcntl is None or not path.parent.is_dir():
        return []
    pattern = _stale_name(path)
    removed = []
    for entry in sorted(path.parent.iterdir()):
        if not pattern.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            fd = _lock(entry)
        except OSError:
            continue
        if fd is None:
            continue  # in use by a running process
        try:
            shutil.rmtree(entry, ignore_errors=True)
        finally:
            os.close(fd)
        removed.append(entry)
    return removed


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)
