"""Errors raised by connectivity.

Every error the user can cause derives from :class:`ConnectivityError`; the CLI
prints its message on one line and exits with code 2. Messages name the file,
row or id at fault. Warnings and errors logged are printed as :data:`LOG_FORMAT`.
"""

import logging

#: How the package's log lines are printed (the command line; a Dask worker nobody set up logging in).
LOG_FORMAT = "connectivity: %(levelname)s: %(message)s"


class ConnectivityError(Exception):
    """Base class of every error that bad input or configuration can cause."""


class ConfigError(ConnectivityError):
    """A scenario, operator or cost-model file is missing, malformed or inconsistent."""


class InputDataError(ConnectivityError):
    """An input data file (roads, sites, poles, buildings, instance) is unusable."""


class CRSError(InputDataError):
    """A layer is in the wrong coordinate reference system (e.g. degrees where metres are needed)."""


class InfeasibleError(ConnectivityError):
    """The requested plan cannot be built (e.g. no terminal can be reached)."""


def not_a_file(path) -> str | None:
    """Why the input ``path`` (a :class:`pathlib.Path`) cannot be read as a file, in the words of
    the one-line errors ("is a folder, not a file", "file not found", or a pipe or device given
    where a file is read); None when it is a regular file."""
    if path.is_dir():
        return "is a folder, not a file"
    if not path.exists():
        return "file not found"
    if not path.is_file():
        return "is not a regular file (a pipe, socket or device): give a file"
    return None


def log_warning(message, category, filename, lineno, file=None, line=None, *, debug: bool = False,
                logger: str = "py.warnings") -> None:
    """A :func:`warnings.showwarning` that logs a Python warning (geopandas', pandas') as one line
    on ``logger``, ``UserWarning: <message>`` (printed like the package's own log lines, held and
    dropped with them), not as Python's two lines with a source line; ``debug`` adds where it was
    raised."""
    where = f" ({filename}:{lineno})" if debug else ""
    logging.getLogger(logger).warning("%s: %s%s", category.__name__, " ".join(str(message).split()), where)
