"""Writing files the user named: the target is checked first, and nothing is overwritten by accident.

Every command and page that writes a file goes through :func:`check_target` (and
:func:`write_output` for text and bytes). The rules:

* the folder must exist (a missing folder is a user error, not a traceback);
* a directory, a device, a FIFO or a socket is never written, not even with ``--force``;
* an existing regular file is replaced only when the caller says so (``overwrite=True``,
  which commands expose as ``--force``);
* the data is written aside and renamed over the target, so a full device or a crash
  leaves the old file as it was; a failed write says which (full device, permission).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from analytics.core.errors import RevLensError


def check_target(path: str | Path, option: str = "--out", overwrite: bool = False) -> Path:
    """``path`` if a file may be written there; a one-sentence :class:`RevLensError` otherwise."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise RevLensError(f"{option} {path} cannot be checked ({exc.strerror}); choose another path.") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise RevLensError(f"{option} {path} is a folder; give a file name inside it, e.g. {path / 'report.csv'}.")
        if not stat.S_ISREG(info.st_mode):
            raise RevLensError(
                f"{option} {path} is not a regular file (a device, pipe or socket); RevLens never writes to one, "
                "so give the path of a file."
            )
        if not overwrite:
            raise RevLensError(f"{option} {path} already exists; choose another name, or add --force to replace it.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise RevLensError(f"The folder of {option} {path} does not exist; create {parent} first or choose another.")
    return path


def write_failure(path: Path, exc: OSError, option: str = "--out") -> RevLensError:
    """The sentence for a write that failed (full device, no permission, anything else)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RevLensError(f"The device of {option} {path} is full; free some space or write elsewhere.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RevLensError(f"No permission to write {option} {path}; choose a folder you can write to.")
    return RevLensError(f"Cannot write {option} {path} ({exc.strerror or exc}); choose another path.")


def write_output(path: str | Path, data: str | bytes, option: str = "--out", overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` after :func:`check_target`: aside first, then renamed over it."""
    path = check_target(path, option, overwrite)
    aside = path.with_name(f".{path.name}.{os.getpid()}.writing")
    try:
        if isinstance(data, str):
            aside.write_text(data, encoding="utf-8")
        else:
            aside.write_bytes(data)
        os.replace(aside, path)
    except OSError as exc:
        aside.unlink(missing_ok=True)
        raise write_failure(path, exc, option) from None
    return path
