"""The output-folder guard: one check, made before any work, for every command that writes a folder.

A plan replaces its output folder as a whole (:func:`connectivity.atomic.atomic_dir`), so a
wrong ``--out`` could replace the user's inputs or an unrelated folder. :func:`check_output_folder`
refuses (one-line :class:`~connectivity.errors.ConfigError`, exit 2) an output folder that

* is, or contains, an input of the run (the scenario's own folder, a parent of any input), or lies
  inside an input folder (a plan folder being exported or compared);
* is, or contains, the current working directory or a repository root (a folder with ``.git``);
* already holds files the command does not write (a previous output of the same command may be replaced);
* cannot be written (checked by creating and removing a temporary file in its parent).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Collection, Iterable

from connectivity.errors import ConfigError


def _resolved(p: str | Path) -> Path:
    return Path(os.path.abspath(Path(p).expanduser())).resolve()


def _inside(child: Path, parent: Path) -> bool:
    """``child`` is ``parent`` or lies below it (both resolved)."""
    return child == parent or parent in child.parents


def _writable_dir(folder: Path) -> Path | None:
    """The nearest existing ancestor of ``folder`` (itself included) if a file can be created in it, else None."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return None
    try:
        fd, name = tempfile.mkstemp(dir=probe, prefix=".connectivity-write-test.", suffix=".tmp")
    except OSError:
        return None
    os.close(fd)
    os.unlink(name)
    return probe


def check_output_folder(out: str | Path, *, inputs: Iterable[str | Path | None] = (),
                        own_names: Collection[str] | None = None, what: str = "output folder") -> Path:
    """Check ``out`` before any work; return it resolved.

    Parameters
    ----------
    inputs
        Every file (or folder) the run reads; ``None`` entries are ignored.
    own_names
        The names of the entries the command writes into the folder, which it replaces as a
        whole: an existing folder holding anything else is refused, and so are the working
        directory, a repository root and every folder holding an input. ``None``: the command
        adds its files to the folder and replaces nothing else; only an input itself is refused.

    Raises
    ------
    ConfigError
        One line naming ``out`` and the reason.
    """
    given = out
    out = _resolved(out)
    replaces = own_names is not None
    again = "choose a new or empty folder (nothing was written)"
    for item in inputs:
        if item is None:
            continue
        p = _resolved(item)
        if p == out:
            raise ConfigError(f"{given}: {what} is an input of this run; {again}")
        if p.is_dir() and _inside(out, p):  # writing into an input folder (a plan folder read) changes it
            raise ConfigError(f"{given}: {what} is inside the input folder {p}; {again}")
        if replaces and _inside(p, out):
            raise ConfigError(f"{given}: {what} contains the input {p}; {again}")
    if replaces:
        cwd = _resolved(Path.cwd())
        if _inside(cwd, out):
            raise ConfigError(f"{given}: {what} is (or contains) the current working directory {cwd}; {again}")
        package = Path(__file__).resolve().parent
        if (out / ".git").exists() or _inside(package, out):
            raise ConfigError(f"{given}: {what} is a source repository or contains this program; {again}")
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"{given}: {what} is a file, not a folder")
        if replaces:
            try:
                foreign = sorted(e.name for e in out.iterdir() if e.name not in own_names)
            except OSError as exc:
                raise ConfigError(f"{given}: {what} cannot be read ({exc.strerror})") from None
            if foreign:
                shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
                raise ConfigError(f"{given}: {what} holds files this command did not write ({shown}); {again}")
    folder = out.parent if replaces else out
    if _writable_dir(folder) is None:
        raise ConfigError(f"{given}: {what} is not writable (cannot create a file in {folder})")
    return out
