"""HubSpot's transport: the SDK client with our timeouts, a rate limit, error classification, no hidden retries.

:class:`HubSpotGateway` sends :class:`PlannedRequest` s, the exact HTTP requests (method,
path, JSON body) that the write-back kinds (:mod:`analytics.crm.actions.kinds`) build and
the preview shows. A request names the SDK operation that sends it (e.g.
``crm.companies.batch_api.update``) and its path arguments; one without an operation goes
through ``client.api_request`` (the legacy endpoints the SDK has no call for). The CRM pull
sync (:mod:`analytics.crm.sync`) uses :meth:`HubSpotGateway.call` the same way.

* **Timeouts** on every call (the SDK has none by default): ``_request_timeout=(connect, read)``
  for generated APIs, our own ``requests`` call for ``api_request``.
* **Rate limit**: a client-side sliding window (:class:`RateLimiter`) shared by every call.
* **No hidden retries**: the client is built with ``retry=False`` (urllib3's ``Retry``);
  :mod:`analytics.crm.actions.delivery` owns the retry policy, because urllib3 does not
  retry POST/PATCH by default and a blind retry could apply twice.
* **Errors** become :class:`TransientError` (429, 5xx, timeout, dropped connection: retry)
  or :class:`PermanentError` (anything else), with HubSpot's own message, never the token.
* **Raw JSON answers** (``_preload_content=False``): the SDK's model deserialisation parses
  every timestamp with dateutil and cost ~100 ms per batch of 100, ten times the rest of
  the round trip (benchmarks/bench_outbox.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import urllib3

from analytics.core.errors import RevLensError
from analytics.core.redact import scrub
from analytics.core.settings import check_token, hubspot_api_base, hubspot_token, setting

BATCH_LIMIT = 100  # HubSpot's batch endpoints take at most 100 inputs


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request exactly as HubSpot receives it (the token is added by the client).

    ``operation`` is the SDK call that sends it (dotted from the client, e.g.
    ``crm.contacts.batch_api.update``), called with ``arguments`` then the body; None sends
    it with ``client.api_request``.
    """

    method: str
    path: str
    body: Any = None
    operation: str | None = None
    arguments: tuple = ()

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "body": self.body}


class HubSpotError(Exception):
    """A failed HubSpot call; ``str()`` is HubSpot's message with the status, never the token.

    Every message is scrubbed (:func:`analytics.core.redact.scrub`) of the token, bearer
    tokens and auth headers when the error is made, so whatever logs, stores or shows it is safe.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(scrub(message, hubspot_token_or_none()))
        self.status = status


def hubspot_token_or_none() -> str | None:
    """The configured token as written, for scrubbing (None when unset or unreadable: scrub's patterns
    still apply)."""
    try:
        token = setting("HUBSPOT_ACCESS_TOKEN")
    except RevLensError:
        return None
    return str(token) if token else None


RETRYABLE_REASONS = ("429", "5xx", "timeout", "connection")


class TransientError(HubSpotError):
    """Retryable: 429, 5xx, a timeout or a dropped connection. ``retry_after`` in seconds."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None, reason: str = "connection"
    ):
        super().__init__(message, status)
        self.retry_after = retry_after
        self.reason = reason  # one of RETRYABLE_REASONS


class PermanentError(HubSpotError):
    """Not retryable (400, 401, 403, 404, 409, ...): the request itself is wrong."""


class RateLimiter:
    """At most ``max_requests`` calls in any sliding window of ``per_seconds`` (thread-safe).

    ``acquire`` blocks until a slot is free. HubSpot's burst limit for private apps is
    100-190 requests per 10 s; the default keeps one deliverer inside the lowest tier.
    """

    def __init__(
        self,
        max_requests: int = 100,
        per_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_requests < 1 or per_seconds <= 0:
            raise RevLensError("The HubSpot rate limit must allow at least 1 request per positive period.")
        self.max_requests, self.per_seconds = max_requests, per_seconds
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_s = 0.0  # total time spent waiting, for the benchmark

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.per_seconds:
                    self._sent.popleft()
                if len(self._sent) < self.max_requests:
                    self._sent.append(now)
                    return
                wait = self._sent[0] + self.per_seconds - now
            self.waited_s += wait
            self._sleep(wait)


# ---------------------------------------------------------------------------------------
# The gateway


@dataclass
class Timeouts:
    """Per-request (connect, read) timeouts in seconds; the SDK has none by default."""

    connect: float = 5.0
    read: float = 30.0

    def pair(self) -> tuple[float, float]:
        return (self.connect, self.read)


def _retry_after(headers) -> float | None:
    if not headers:
        return None
    value = dict((str(k).lower(), v) for k, v in dict(headers).items()).get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:  # an HTTP date
            from email.utils import parsedate_to_datetime

            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def connection_problem(exc: BaseException, api_base: str, timeouts: Timeouts) -> TransientError:
    """A connection failure told apart: DNS, refused, connect timeout, read timeout, or dropped.

    urllib3 2.x makes ``NewConnectionError`` (refused) and ``NameResolutionError`` (DNS)
    subclasses of ``ConnectTimeoutError``, so the order of the checks matters; requests
    wraps them in its own errors (the urllib3 one is in ``args`` or the chain).
    """
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 12:
        error = todo.pop(0)
        if error is None or error in seen:
            continue
        seen.append(error)
        todo.extend([getattr(error, "reason", None), error.__cause__, error.__context__])
        todo.extend(arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException))
    names = {type(error).__name__ for error in seen}
    text = " ".join(str(error) for error in seen).lower()
    if "NameResolutionError" in names or "name or service not known" in text or "nodename nor servname" in text:
        return TransientError(
            f"Cannot resolve the HubSpot host of {api_base} (DNS failure); check HUBSPOT_API_BASE and the network",
            reason="connection",
        )
    if "connection refused" in text or any(isinstance(e, ConnectionRefusedError) for e in seen):
        return TransientError(
            f"HubSpot at {api_base} refused the connection; check HUBSPOT_API_BASE and that the API is reachable",
            reason="connection",
        )
    if any(isinstance(e, urllib3.exceptions.ConnectTimeoutError) for e in seen) or "ConnectTimeout" in names:
        return TransientError(
            f"Could not connect to HubSpot at {api_base} within {timeouts.connect:g} s (connect timeout)",
            reason="timeout",
        )
    if any(isinstance(e, urllib3.exceptions.TimeoutError) for e in seen) or "ReadTimeout" in names:
        return TransientError(f"HubSpot did not answer within {timeouts.read:g} s (timeout)", reason="timeout")
    return TransientError(f"Connection to HubSpot dropped ({type(exc).__name__})", reason="connection")


def _hubspot_message(body) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        return (body or "").strip()[:300]
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("category") or parsed)[:500]
    return str(parsed)[:300]


def classify(status: int, body, headers) -> HubSpotError:
    """The error for an HTTP ``status``: 429 and 5xx are transient, the rest permanent."""
    message = f"HubSpot answered {status}: {_hubspot_message(body) or 'no message'}"
    if status == 429 or 500 <= status <= 599:
        return TransientError(message, status, _retry_after(headers), "429" if status == 429 else "5xx")
    return PermanentError(message, status)


class HubSpotGateway:
    """The SDK client with our timeouts, rate limit and error classification.

    Parameters
    ----------
    token : private-app access token (kept on the SDK client only; never in messages).
    api_base : API host, e.g. ``https://api.hubapi.com`` or a test server; sets both the
        generated APIs' ``host`` and ``api_request``'s ``base_url``.
    timeouts : connect/read timeouts applied to every call.
    limiter : the client-side rate limit, shared by every call of this gateway.
    """

    def __init__(
        self,
        token: str,
        api_base: str | None = None,
        timeouts: Timeouts | None = None,
        limiter: RateLimiter | None = None,
    ):
        from hubspot import HubSpot

        check_token(token or "")
        if not token:
            raise RevLensError(
                "No HubSpot token: set HUBSPOT_ACCESS_TOKEN or add it to .streamlit/secrets.toml; "
                "until then actions can be previewed and queued but not delivered."
            )
        self.api_base = (api_base or hubspot_api_base()).rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.limiter = limiter or RateLimiter()
        self.requests_sent = 0
        # retry=False: no hidden urllib3 retries (delivery owns them). Answers are read as raw
        # JSON (see call), so the SDK's response models and their validation are not used.
        self.client = HubSpot(
            access_token=token, retry=False, host=self.api_base, base_url=self.api_base, client_side_validation=False
        )
        self._apis: dict[str, Any] = {}
        self._session = requests.Session()

    @classmethod
    def from_settings(cls, **kwargs) -> HubSpotGateway:
        return cls(hubspot_token() or "", **kwargs)

    def api(self, name: str) -> Any:
        """A generated API of the client by its dotted name, e.g. ``crm.contacts.batch_api`` (built once).

        Each of the SDK's discovery properties builds a new ApiClient and connection pool on
        every access, so the gateway keeps the ones it used.
        """
        if name not in self._apis:
            api = self.client
            for part in name.split("."):
                api = getattr(api, part)
            self._apis[name] = api
        return self._apis[name]

    def send(self, request: PlannedRequest) -> Any:
        """Send one planned request; HubSpot's JSON answer as plain dicts and lists (None when empty)."""
        if request.operation is None:
            response = self.api_request(request.method, request.path, request.body)
            return response.json() if response.content else None
        arguments = (*request.arguments, request.body) if request.body is not None else request.arguments
        return self.call(request.operation, *arguments)

    def call(self, operation: str, *args) -> Any:
        """One SDK operation by its dotted name (``crm.deals.search_api.do_search``) with ``args``.

        Returns HubSpot's JSON answer as plain dicts and lists (None when empty):
        ``_preload_content=False`` makes the SDK hand back the raw response.
        """
        api_name, _, method = operation.rpartition(".")
        sdk_call: Callable[..., Any] = getattr(self.api(api_name), method)
        self.limiter.acquire()
        self.requests_sent += 1
        try:
            response = sdk_call(*args, _request_timeout=self.timeouts.pair(), _preload_content=False)
            try:
                data = response.data
            finally:
                response.release_conn()  # unpreloaded responses keep their connection until released
            return json.loads(data) if data else None
        except (urllib3.exceptions.HTTPError, ConnectionError, OSError) as exc:
            raise connection_problem(exc, self.api_base, self.timeouts) from None
        except Exception as exc:  # the SDK's ApiException has one class per generated package
            status = getattr(exc, "status", None)
            if status is None or not hasattr(exc, "body"):
                # e.g. http.client's "Invalid header value b'Bearer ...'": the message holds the
                # header, so it is scrubbed and the chain (which holds it too) dropped
                raise PermanentError(f"The HubSpot request could not be sent ({type(exc).__name__}: {exc})") from None
            if not status:  # status 0: an SSL problem reported by the SDK
                raise TransientError(f"Connection to HubSpot failed ({getattr(exc, 'reason', '')})") from None
            raise classify(int(status), exc.body, exc.headers) from None

    def api_request(self, method: str, path: str, body: Any = None) -> requests.Response:
        """``client.api_request`` with a timeout: the SDK's request builder, sent with our timeout.

        The SDK's ``Request.send`` calls ``requests`` without a timeout and prints errors to
        stdout; we build the request with the same class (URL, auth header, JSON body) and
        send it ourselves.
        """
        from hubspot.utils.requests.http_request_builder import Request

        options = {"method": method, "path": path}
        if body is not None:
            options["body"] = body
        request = Request(self.client.config, options)
        self.limiter.acquire()
        self.requests_sent += 1
        try:
            response = self._session.request(
                request.get_method(),
                request.get_url(),
                timeout=self.timeouts.pair(),
                **request.get_options_for_sending(),
            )
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError) as exc:
            raise PermanentError(f"The HubSpot request could not be sent ({type(exc).__name__}: {exc})") from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise connection_problem(exc, self.api_base, self.timeouts) from None
        if not 200 <= response.status_code <= 299:
            raise classify(response.status_code, response.content, response.headers)
        return response
