"""How the CLI reports a failure: one sentence on stderr, a status, never a traceback, never a secret.

=========================================  ======  =====================================================
failure                                    status  message
=========================================  ======  =====================================================
:class:`RevLensError` (a user error)       2       its sentence
a HubSpot failure (unreachable, 4xx, 5xx)  2       what HubSpot or the connection said (scrubbed)
out of memory (Python or DuckDB)           2       "out of memory", and ``--memory-limit`` / fewer rows
a file system error (full device, ...)     2       which file and why
anything else (a bug)                      1       its type and first line; ``REVLENS_DEBUG=1`` traces
=========================================  ======  =====================================================
"""

from __future__ import annotations

import errno
import sys

OUT_OF_MEMORY = (
    "out of memory: the machine ran out of memory for this command; give DuckDB a cap so it spills to disk "
    "(e.g. --memory-limit 2GB where the command has it), close other programs, or work on a smaller file or period."
)


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    return name == "OutOfMemoryException" or "out of memory" in str(exc).lower()


def message(exc: BaseException) -> tuple[int, str]:
    """The status and the one-line message for ``exc``."""
    from analytics.core.errors import RevLensError
    from analytics.core.redact import scrub

    secret = None
    try:
        from analytics.crm.hubspot.transport import hubspot_token_or_none

        secret = hubspot_token_or_none()
    except Exception:  # the scrubbing patterns still apply without the token
        secret = None
    if isinstance(exc, RevLensError):
        return 2, scrub(exc, secret)
    if _is_out_of_memory(exc):
        return 2, OUT_OF_MEMORY
    if type(exc).__name__ in ("TransientError", "PermanentError", "HubSpotError"):
        return 2, scrub(f"{exc}.", secret).replace("..", ".")
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return 2, f"The device is full{where}; free some space or write elsewhere."
        return 2, f"{exc.strerror or 'A file system error'}{where}; check the path and its permissions."
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return 1, scrub(
        f"unexpected {type(exc).__name__}: {first} (a bug in RevLens; rerun with REVLENS_DEBUG=1 for the traceback "
        "and report it)",
        secret,
    )


def report(exc: BaseException) -> int:
    """Print ``exc`` as one line on stderr (its traceback only with ``REVLENS_DEBUG=1``); the exit status."""
    from analytics.core.settings import debug

    status, text = message(exc)
    if status == 1 and debug():
        import traceback

        traceback.print_exception(exc)
    print(f"error: {text}", file=sys.stderr)
    return status
