"""Secrets out of error messages: the HubSpot token and HTTP headers never reach a log, store or page.

urllib3 and requests put the request in some messages (an invalid header value quotes
the whole ``Authorization: Bearer pat-...`` line). :func:`scrub` removes the known
secrets, anything that looks like a bearer token or a private-app token, and header
lines, from any text before it is logged, stored or shown.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(
        r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*|(?:set-)?cookie['\"]?\s*[:=]\s*|x-api-key['\"]?\s*[:=]\s*)[^,;}\n]*"
    ),
    re.compile(r"(?i)bearer\s+[^\s,;'\"}]+"),
    re.compile(r"\bpat-[A-Za-z0-9_-]+(?:-[A-Za-z0-9_-]+)*"),
    re.compile(r"(?i)(['\"]?(?:access_token|token|hapikey)['\"]?\s*[:=]\s*)['\"]?[^\s,;'\"}&]+"),
)


def scrub(text: object, *secrets: str | None) -> str:
    """``text`` without the given secrets (also any line or piece of one), bearer tokens or auth headers."""
    text = str(text)
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, REDACTED)
        for piece in re.split(r"[\s\x00-\x1f\x7f]+", secret):  # a token split by its own newline
            if len(piece) >= 8:
                text = text.replace(piece, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + REDACTED, text)
    return text
