"""HubSpot through ``hubspot-api-client``: the requests each action kind sends, and a gateway.

Two halves, deliberately separate:

* **Request builders** (:func:`build_requests`) turn one batch of an action into the exact
  HTTP requests HubSpot will receive (method, path, JSON body). The preview shows these,
  and the gateway sends the same bodies, so what the user confirmed is what is sent.
* **The gateway** (:class:`HubSpotGateway`) sends them through the SDK with our own
  timeout on every call, a client-side rate limit, and no hidden retries (the SDK's
  urllib3 ``Retry`` is disabled; :mod:`analytics.delivery` owns the retry policy, because
  urllib3 does not retry POST/PATCH by default and a blind retry could apply twice).
  Failures become :class:`TransientError` (429, 5xx, timeout, dropped connection; retry)
  or :class:`PermanentError` (anything else; HubSpot's own message, never the token).

SDK calls used (hubspot-api-client 12.0.0):

=========================  ==================================================  =====================================================
action kind                SDK call                                            HTTP
=========================  ==================================================  =====================================================
update_properties (by id)  ``crm.contacts.batch_api.update``                   POST /crm/v3/objects/contacts/batch/update
update_properties (email)  ``crm.contacts.batch_api.upsert``                   POST /crm/v3/objects/contacts/batch/upsert
add_to_list                ``crm.lists.memberships_api.add``                   PUT  /crm/v3/lists/{listId}/memberships/add
enroll_workflow            ``client.api_request`` (legacy, no SDK call)        POST /automation/v2/workflows/{id}/enrollments/contacts/{e}
  (lookup on resume)       ``client.api_request``                              GET  /automation/v2/workflows/enrollments/contacts/{vid}
create_task                ``crm.objects.tasks.batch_api.create``              POST /crm/v3/objects/tasks/batch/create
  (lookup on retry)        ``crm.objects.tasks.batch_api.read`` (idProperty)   POST /crm/v3/objects/tasks/batch/read
create_properties          ``crm.properties.core_api.get_all`` / ``create``    GET/POST /crm/v3/properties/{objectType}
  (group of a new property)  ``crm.properties.groups_api.get_all``             GET  /crm/v3/properties/{objectType}/groups
CRM pull sync              ``crm.contacts.search_api.do_search`` (and deals)   POST /crm/v3/objects/{contacts,deals}/search
  deal → contact           ``crm.associations.v4.batch_api.get_page``          POST /crm/v4/associations/deals/contacts/batch/read
=========================  ==================================================  =====================================================
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from analytics.core.errors import RevLensError
from analytics.core.settings import hubspot_api_base, hubspot_token

BATCH_LIMIT = 100  # HubSpot's batch endpoints take at most 100 inputs
TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type id: task -> contact
TASK_KEY_PROPERTY = "revlens_action_key"

CAMPAIGN_KINDS = ("add_to_list", "enroll_workflow")
KINDS = ("update_properties", "add_to_list", "enroll_workflow", "create_task", "create_properties")


@dataclass(frozen=True)
class PropertySpec:
    """A custom property RevLens writes; created in HubSpot when missing."""

    object_type: str
    name: str
    label: str
    type: str  # HubSpot data type: number | string
    field_type: str  # HubSpot field type: number | text
    description: str
    has_unique_value: bool = False

    def body(self, group_name: str = "contactinformation") -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": group_name,
            "description": self.description,
            "hasUniqueValue": self.has_unique_value,
        }


# The spec's custom contact properties (marketing_platform_lead_score, last_campaign_interaction)
# and the ones this project writes (health, risk, attributed revenue); plus the task key.
CUSTOM_PROPERTIES: dict[str, PropertySpec] = {
    spec.name: spec
    for spec in (
        PropertySpec(
            "contacts",
            "marketing_platform_lead_score",
            "Marketing platform lead score",
            "number",
            "number",
            "Lead score computed by RevLens.",
        ),
        PropertySpec(
            "contacts",
            "last_campaign_interaction",
            "Last campaign interaction",
            "string",
            "text",
            "Most recent campaign touch seen by RevLens (campaign name and date).",
        ),
        PropertySpec(
            "contacts",
            "marketing_platform_health_score",
            "Health score",
            "number",
            "number",
            "Customer health score (0-100) computed by RevLens.",
        ),
        PropertySpec(
            "contacts",
            "marketing_platform_health_band",
            "Health band",
            "string",
            "text",
            "Health band computed by RevLens (healthy, watch, at risk).",
        ),
        PropertySpec(
            "contacts",
            "marketing_platform_risk_level",
            "Risk level",
            "string",
            "text",
            "Churn risk level computed by RevLens (low, medium, high).",
        ),
        PropertySpec(
            "contacts",
            "marketing_platform_attributed_revenue",
            "Attributed revenue",
            "number",
            "number",
            "Closed-won revenue RevLens attributes to this contact's campaign touches.",
        ),
        PropertySpec(
            "tasks",
            TASK_KEY_PROPERTY,
            "RevLens action key",
            "string",
            "text",
            "Idempotency key of the RevLens action that created this task.",
            has_unique_value=True,
        ),
    )
}

_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


# ---------------------------------------------------------------------------------------
# Requests per kind


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request exactly as HubSpot receives it (the token is added by the client)."""

    method: str
    path: str
    body: Any = None

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "body": self.body}


def contact_key(target: dict) -> str:
    """The identity used for frequency capping and reporting: HubSpot id, else email."""
    if target.get("hubspot_id"):
        return f"id:{target['hubspot_id']}"
    return f"email:{str(target.get('email', '')).strip().lower()}"


def task_key(action_key: str, target: dict) -> str:
    return f"{action_key}:{target['hubspot_id']}"


def task_due(payload: dict, created_at: datetime) -> str:
    """The task's due timestamp: ``due_in_days`` after the action was created, ISO 8601 UTC."""
    due = created_at.astimezone(UTC) + timedelta(days=int(payload.get("due_in_days", 2)))
    return due.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def build_requests(
    kind: str, batch: list[dict], payload: dict, action_key: str, created_at: datetime
) -> list[PlannedRequest]:
    """The HTTP requests that deliver ``batch`` (≤100 targets) of an action of ``kind``."""
    if kind == "update_properties":
        if batch[0].get("hubspot_id"):
            inputs = [{"id": str(t["hubspot_id"]), "properties": _strings(t["properties"])} for t in batch]
            return [PlannedRequest("POST", "/crm/v3/objects/contacts/batch/update", {"inputs": inputs})]
        inputs = [{"id": t["email"], "idProperty": "email", "properties": _strings(t["properties"])} for t in batch]
        return [PlannedRequest("POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs})]
    if kind == "add_to_list":
        return [
            PlannedRequest(
                "PUT",
                f"/crm/v3/lists/{quote(str(payload['list_id']), safe='')}/memberships/add",
                [str(t["hubspot_id"]) for t in batch],
            )
        ]
    if kind == "enroll_workflow":
        workflow = quote(str(payload["workflow_id"]), safe="")
        return [
            PlannedRequest(
                "POST", f"/automation/v2/workflows/{workflow}/enrollments/contacts/{quote(str(t['email']), safe='@')}"
            )
            for t in batch
        ]
    if kind == "create_task":
        due = task_due(payload, created_at)
        inputs = []
        for t in batch:
            properties = {
                "hs_task_subject": payload["subject"],
                "hs_task_body": payload.get("body", ""),
                "hs_timestamp": due,
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": payload.get("priority", "MEDIUM"),
                TASK_KEY_PROPERTY: task_key(action_key, t),
            }
            if t.get("owner_id"):
                properties["hubspot_owner_id"] = str(t["owner_id"])
            inputs.append(
                {
                    "properties": properties,
                    "associations": [
                        {
                            "to": {"id": str(t["hubspot_id"])},
                            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}],
                        }
                    ],
                }
            )
        return [PlannedRequest("POST", "/crm/v3/objects/tasks/batch/create", {"inputs": inputs})]
    if kind == "create_properties":
        object_type = payload.get("object_type", "contacts")
        specs = [CUSTOM_PROPERTIES[name] for name in payload["names"]]
        return [PlannedRequest("GET", f"/crm/v3/properties/{object_type}")] + [
            PlannedRequest("POST", f"/crm/v3/properties/{object_type}", spec.body()) for spec in specs
        ]
    raise ValueError(f"unknown kind {kind!r}")


def _strings(properties: dict) -> dict:
    # HubSpot property values travel as strings; None clears a value (empty string).
    return {name: "" if value is None else _format_value(value) for name, value in properties.items()}


def _format_value(value) -> str:
    if isinstance(value, float):
        return repr(round(value, 6)) if value != int(value) else str(int(value))
    return str(value)


def validate(kind: str, targets: list[dict], payload: dict) -> None:
    """Raise :class:`RevLensError` with one sentence when an action cannot be sent as given."""
    if kind not in KINDS:
        raise RevLensError(f"Unknown action kind {kind!r}; use one of {', '.join(KINDS)}.")
    if kind == "create_properties":
        names = payload.get("names") or []
        unknown = [name for name in names if name not in CUSTOM_PROPERTIES]
        if not names or unknown:
            raise RevLensError(
                f"create_properties needs payload names from {', '.join(CUSTOM_PROPERTIES)}"
                + (f"; {', '.join(unknown)} is not one of them." if unknown else ".")
            )
        return
    if not targets:
        raise RevLensError(f"The {kind} action has no target contacts; select at least one contact.")
    required = {
        "update_properties": None,
        "add_to_list": "hubspot_id",
        "enroll_workflow": "email",
        "create_task": "hubspot_id",
    }[kind]
    for number, target in enumerate(targets, start=1):
        if required and not str(target.get(required) or "").strip():
            raise RevLensError(
                f"Target {number} of the {kind} action has no {required}; {kind} needs a {required} for every contact."
            )
        if kind == "update_properties":
            if not (target.get("hubspot_id") or target.get("email")):
                raise RevLensError(
                    f"Target {number} has neither hubspot_id nor email; give one of them to identify the contact."
                )
            properties = target.get("properties") or {}
            if not properties:
                raise RevLensError(f"Target {number} has no properties to update; add at least one property column.")
            bad = [name for name in properties if not _PROPERTY_NAME.match(name)]
            if bad:
                raise RevLensError(
                    f"{bad[0]!r} is not a HubSpot property name (lowercase letters, digits, "
                    "underscores); rename the column."
                )
    if kind == "add_to_list" and not str(payload.get("list_id") or "").strip():
        raise RevLensError("add_to_list needs the HubSpot list id (ILS list id, --list-id).")
    if kind == "enroll_workflow" and not str(payload.get("workflow_id") or "").strip():
        raise RevLensError("enroll_workflow needs the HubSpot workflow id (--workflow-id).")
    if kind == "create_task":
        if not str(payload.get("subject") or "").strip():
            raise RevLensError("create_task needs a task subject.")
        if payload.get("priority", "MEDIUM") not in ("LOW", "MEDIUM", "HIGH"):
            raise RevLensError("create_task priority must be LOW, MEDIUM or HIGH.")


def split_batches(kind: str, targets: list[dict]) -> list[list[dict]]:
    """Targets in batches of at most 100; update_properties batches are all-by-id or all-by-email."""
    if kind == "create_properties":
        return [[]]
    groups = [targets]
    if kind == "update_properties":
        groups = [[t for t in targets if t.get("hubspot_id")], [t for t in targets if not t.get("hubspot_id")]]
    return [group[i : i + BATCH_LIMIT] for group in groups for i in range(0, len(group), BATCH_LIMIT)]


# ---------------------------------------------------------------------------------------
# Errors and the rate limit


class HubSpotError(Exception):
    """A failed HubSpot call; ``str()`` is HubSpot's message with the status, never the token."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


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
        # JSON (see _call), so the SDK's response models and their validation are not used.
        self.client = HubSpot(
            access_token=token, retry=False, host=self.api_base, base_url=self.api_base, client_side_validation=False
        )
        crm = self.client.crm
        # Each discovery property builds a new ApiClient and connection pool: build them once.
        self.contacts_batch = crm.contacts.batch_api
        self.contacts_search = crm.contacts.search_api
        self.deals_search = crm.deals.search_api
        self.memberships = crm.lists.memberships_api
        self.tasks_batch = crm.objects.tasks.batch_api
        self.properties = crm.properties.core_api
        self.property_groups = crm.properties.groups_api
        self.associations = crm.associations.v4.batch_api
        self._session = requests.Session()

    @classmethod
    def from_settings(cls, **kwargs) -> HubSpotGateway:
        return cls(hubspot_token() or "", **kwargs)

    # -- transport -------------------------------------------------------------------

    def _call(self, sdk_call: Callable[..., Any], *args) -> Any:
        """One SDK call; returns HubSpot's JSON answer as plain dicts and lists (None when empty).

        ``_preload_content=False`` makes the SDK hand back the raw response: its model
        deserialisation parses every timestamp with dateutil and cost ~100 ms per batch of
        100, ten times the rest of the round trip (benchmarks/bench_outbox.py).
        """
        self.limiter.acquire()
        self.requests_sent += 1
        try:
            response = sdk_call(*args, _request_timeout=self.timeouts.pair(), _preload_content=False)
            try:
                data = response.data
            finally:
                response.release_conn()  # unpreloaded responses keep their connection until released
            return json.loads(data) if data else None
        except urllib3.exceptions.TimeoutError:
            raise TransientError(
                f"HubSpot did not answer within {self.timeouts.read:g} s (timeout)", reason="timeout"
            ) from None
        except (
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.MaxRetryError,
            urllib3.exceptions.HTTPError,
            ConnectionError,
        ) as exc:
            raise TransientError(f"Connection to HubSpot dropped ({type(exc).__name__})") from None
        except Exception as exc:  # the SDK's ApiException has one class per generated package
            status = getattr(exc, "status", None)
            if status is None or not hasattr(exc, "body"):
                raise
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
        except requests.exceptions.Timeout:
            raise TransientError(
                f"HubSpot did not answer within {self.timeouts.read:g} s (timeout)", reason="timeout"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise TransientError(f"Connection to HubSpot dropped ({type(exc).__name__})") from None
        if not 200 <= response.status_code <= 299:
            raise classify(response.status_code, response.content, response.headers)
        return response

    # -- action kinds ----------------------------------------------------------------

    def send_contact_batch(self, request: PlannedRequest) -> dict:
        """Batch update (by id) or upsert (by email); returns counts and HubSpot's rejections."""
        if request.path.endswith("/batch/update"):
            answer = self._call(self.contacts_batch.update, request.body)
        else:
            answer = self._call(self.contacts_batch.upsert, request.body)
        return _batch_outcome(answer, len(request.body["inputs"]))

    def add_to_list(self, request: PlannedRequest) -> dict:
        list_id = request.path.split("/")[4]
        answer = self._call(self.memberships.add, list_id, request.body) or {}
        added = list(answer.get("recordsIdsAdded") or answer.get("recordIdsAdded") or [])
        missing = [str(record) for record in answer.get("recordIdsMissing") or []]
        return {
            "sent": len(request.body),
            "added": len(added),
            "already_members": len(request.body) - len(added) - len(missing),
            "rejected": len(missing),
            "rejection": f"{len(missing)} record ids do not exist in HubSpot: {', '.join(missing[:5])}"
            if missing
            else "",
        }

    def enroll(self, request: PlannedRequest) -> None:
        self.api_request("POST", request.path)

    def enrolled_workflows(self, hubspot_id: str) -> set[str]:
        """Workflow ids the contact is currently enrolled in (legacy enrollments endpoint)."""
        response = self.api_request("GET", f"/automation/v2/workflows/enrollments/contacts/{quote(str(hubspot_id))}")
        return {str(item.get("id")) for item in (response.json() or [])}

    def existing_task_keys(self, keys: list[str]) -> set[str]:
        """Which task keys already exist in HubSpot (batch read by the unique key property)."""
        body = {
            "idProperty": TASK_KEY_PROPERTY,
            "inputs": [{"id": key} for key in keys],
            "properties": [TASK_KEY_PROPERTY],
            "propertiesWithHistory": [],
        }
        answer = self._call(self.tasks_batch.read, body) or {}
        return {(obj.get("properties") or {}).get(TASK_KEY_PROPERTY) for obj in answer.get("results") or []} - {None}

    def create_tasks(self, request: PlannedRequest) -> dict:
        answer = self._call(self.tasks_batch.create, request.body)
        return _batch_outcome(answer, len(request.body["inputs"]))

    def property_names(self, object_type: str) -> set[str]:
        answer = self._call(self.properties.get_all, object_type) or {}
        return {prop["name"] for prop in answer.get("results") or []}

    def create_property(self, object_type: str, body: dict) -> bool:
        """Create a property; False when HubSpot says it already exists (409)."""
        try:
            self._call(self.properties.create, object_type, body)
        except PermanentError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def ensure_properties(self, names: list[str]) -> list[str]:
        """Create the RevLens custom properties among ``names`` that HubSpot lacks; returns those created."""
        created = []
        by_object: dict[str, list[PropertySpec]] = {}
        for name in names:
            if name in CUSTOM_PROPERTIES:
                spec = CUSTOM_PROPERTIES[name]
                by_object.setdefault(spec.object_type, []).append(spec)
        for object_type, specs in by_object.items():
            present = self.property_names(object_type)
            missing = [spec for spec in specs if spec.name not in present]
            if not missing:
                continue
            group = self.property_group(object_type)
            for spec in missing:
                if self.create_property(object_type, spec.body(group)):
                    created.append(spec.name)
        return created

    def property_group(self, object_type: str) -> str:
        """The group new properties go in: ``contactinformation`` for contacts, else the object's first group."""
        if object_type == "contacts":
            return "contactinformation"
        answer = self._call(self.property_groups.get_all, object_type) or {}
        groups = [group["name"] for group in answer.get("results") or []]
        if not groups:
            raise PermanentError(f"HubSpot has no property group for {object_type}; create one in HubSpot first.")
        return groups[0]

    # -- pull sync -------------------------------------------------------------------

    def search(self, object_type: str, body: dict) -> dict:
        """One page of a CRM search: ``{"total", "results": [{"id", "properties"}], "paging"}``."""
        api = {"contacts": self.contacts_search, "deals": self.deals_search}[object_type]
        return self._call(api.do_search, body)

    def deal_contacts(self, deal_ids: list[str]) -> dict[str, str]:
        """The first associated contact id of each deal (v4 associations batch read)."""
        if not deal_ids:
            return {}
        answer = (
            self._call(
                self.associations.get_page,
                "deals",
                "contacts",
                {"inputs": [{"id": str(deal_id)} for deal_id in deal_ids]},
            )
            or {}
        )
        linked = {}
        for item in answer.get("results") or []:
            if item.get("to"):
                linked[str(item["from"]["id"])] = str(item["to"][0]["toObjectId"])
        return linked


def _batch_outcome(answer: dict | None, sent: int) -> dict:
    """Counts from a batch answer (200/201, or 207 with ``errors``)."""
    answer = answer or {}
    results = answer.get("results") or []
    errors = answer.get("errors") or []
    rejected_ids: list[str] = []
    for error in errors:
        context = error.get("context") or {}
        rejected_ids.extend(context.get("ids", []) if isinstance(context, dict) else [])
    rejected = len(rejected_ids) or (sent - len(results) if errors else 0)
    message = "; ".join(str(error.get("message", "")) for error in errors[:3])
    return {
        "sent": sent,
        "applied": len(results),
        "rejected": rejected,
        "rejection": f"HubSpot rejected {rejected} of {sent}: {message}" if errors else "",
    }
