"""A local HubSpot for tests: a real HTTP server on 127.0.0.1 implementing the endpoints RevLens calls.

Only the endpoints RevLens uses (:mod:`analytics.crm.hubspot`, the kinds of
:mod:`analytics.crm.actions.kinds`, :mod:`analytics.crm.sync`), with the paths, methods and
JSON bodies the SDK (hubspot-api-client 12.0.0) sends and HubSpot's response shapes (complete
enough for the SDK's models). It keeps state (contacts, companies, deals, lists, workflow
enrollments, tasks, properties per object type) and counts *effects*, so tests can assert
"applied once":

* ``writes[(object_type, record_id, name)]`` counts value *changes* of contacts, companies
  and deals (HubSpot writes no new history version for an unchanged value, so an idempotent
  resend adds nothing); ``property_writes[(contact_id, name)]`` is the same for contacts;
* ``list_adds[(list_id, contact_id)]``, ``enrollments[(workflow_id, email)]`` and
  ``tasks`` record real additions only (a duplicate task key is rejected, as HubSpot
  does for a unique property).

Faults are scripted with :meth:`HubSpotServer.fault`: ``429`` (+ ``Retry-After``), ``500``,
``slow`` (sleep before answering), ``drop`` (close the connection without an answer,
before or after applying the request), ``hang_after_apply`` (apply, then hold the answer
for ``delay_s``: the window in which a crash leaves the outcome unknown to the client).

Run it standalone for the benchmark or manual tries: ``python tests/fakes/hubspot_server.py``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

CONTACT_DEFAULT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "company",
    "lifecyclestage",
    "hubspot_owner_id",
    "createdate",
    "lastmodifieddate",
    "hs_object_id",
)
COMPANY_DEFAULT_PROPERTIES = (
    "name",
    "domain",
    "industry",
    "lifecyclestage",
    "hubspot_owner_id",
    "createdate",
    "hs_lastmodifieddate",
    "hs_object_id",
)
DEAL_DEFAULT_PROPERTIES = (
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "hubspot_owner_id",
    "createdate",
    "hs_lastmodifieddate",
    "hs_is_closed",
    "hs_is_closed_won",
    "hs_object_id",
)
# The group HubSpot keeps each object's own properties in (GET /crm/v3/properties/{objectType}/groups).
PROPERTY_GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
    "tasks": "taskinformation",
}
MODIFIED = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate"}
SINGULAR = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Fault:
    kind: str  # "429" | "500" | "slow" | "drop" | "drop_after_apply" | "hang_after_apply"
    path: str  # regex on the request path
    times: int
    retry_after: float | None = None
    delay_s: float = 0.0
    after: int = 0  # let this many matching requests through first


class HubSpotServer:
    """Start with ``with HubSpotServer(token) as server:``; ``server.base_url`` is the API base."""

    def __init__(self, token: str = "pat-test-token", port: int = 0, latency_s: float = 0.0):
        self.token = token
        self.latency_s = latency_s
        self.lock = threading.RLock()
        self.contacts: dict[str, dict] = {}  # id -> properties
        self.companies: dict[str, dict] = {}
        self.deals: dict[str, dict] = {}
        self.deal_contact: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self.workflows: dict[str, set[str]] = {}  # workflow id -> enrolled emails
        self.tasks: dict[str, dict] = {}  # id -> {"properties", "associations"}
        self.properties: dict[str, dict[str, dict]] = {
            "contacts": {name: self._property_body(name, "contacts") for name in CONTACT_DEFAULT_PROPERTIES},
            "companies": {name: self._property_body(name, "companies") for name in COMPANY_DEFAULT_PROPERTIES},
            "deals": {name: self._property_body(name, "deals") for name in DEAL_DEFAULT_PROPERTIES},
            "tasks": {
                name: self._property_body(name, "tasks")
                for name in ("hs_task_subject", "hs_task_body", "hs_timestamp", "hubspot_owner_id")
            },
        }
        self.property_writes: Counter = Counter()
        self.writes: Counter = Counter()
        self.list_adds: Counter = Counter()
        self.enrollment_count: Counter = Counter()
        self.requests: list[dict] = []  # method, path, body, authorization
        self.faults: list[Fault] = []
        self.applied_then_hung = threading.Event()  # set when a hang_after_apply fault has applied its request
        self._next_id = 1000
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that timed out is expected
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubSpotServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> HubSpotServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- fixtures -------------------------------------------------------------------

    def new_id(self) -> str:
        with self.lock:
            self._next_id += 1
            return str(self._next_id)

    def add_contact(self, email: str, contact_id: str | None = None, **properties) -> str:
        contact_id = contact_id or self.new_id()
        now = properties.pop("lastmodifieddate", _now_iso())
        self.contacts[contact_id] = {
            "email": email,
            "hs_object_id": contact_id,
            "createdate": now,
            "lastmodifieddate": now,
            **properties,
        }
        return contact_id

    def add_company(self, name: str, company_id: str | None = None, **properties) -> str:
        company_id = company_id or self.new_id()
        now = properties.pop("hs_lastmodifieddate", _now_iso())
        self.companies[company_id] = {
            "name": name,
            "hs_object_id": company_id,
            "createdate": now,
            "hs_lastmodifieddate": now,
            **properties,
        }
        return company_id

    def add_deal(self, contact_id: str | None = None, deal_id: str | None = None, **properties) -> str:
        deal_id = deal_id or self.new_id()
        now = properties.pop("hs_lastmodifieddate", _now_iso())
        self.deals[deal_id] = {"hs_object_id": deal_id, "createdate": now, "hs_lastmodifieddate": now, **properties}
        if contact_id:
            self.deal_contact[deal_id] = contact_id
        return deal_id

    def fault(
        self,
        kind: str,
        path: str = ".*",
        times: int = 1,
        retry_after: float | None = None,
        delay_s: float = 0.0,
        after: int = 0,
    ) -> None:
        with self.lock:
            self.faults.append(Fault(kind, path, times, retry_after, delay_s, after))

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.path, path):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    @staticmethod
    def _property_body(name: str, object_type: str = "contacts", **extra) -> dict:
        return {
            "name": name,
            "label": name,
            "type": "string",
            "fieldType": "text",
            "groupName": PROPERTY_GROUPS.get(object_type, "information"),
            "description": "",
            "options": [],
            "hasUniqueValue": False,
            "calculated": False,
            "externalOptions": False,
            "hidden": False,
            "formField": False,
            "createdAt": _now_iso(),
            "updatedAt": _now_iso(),
            **extra,
        }

    # -- HubSpot behaviour ------------------------------------------------------------

    def _object(self, object_id: str, properties: dict) -> dict:
        now = _now_iso()
        return {
            "id": object_id,
            "properties": properties,
            "createdAt": properties.get("createdate", now),
            "updatedAt": now,
            "archived": False,
        }

    def _batch_answer(self, results: list, errors: list, status_ok: int = 200) -> tuple[int, dict]:
        now = _now_iso()
        body = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if errors:
            body["errors"] = errors
            body["numErrors"] = len(errors)
            return 207, body
        return status_ok, body

    def _error(self, status: int, message: str, category: str) -> tuple[int, dict]:
        return status, {"status": "error", "message": message, "correlationId": "00000000-test", "category": category}

    def _not_found(self, ids: list[str], object_type: str = "contacts") -> dict:
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {SINGULAR.get(object_type, 'CRM')} objects, they may be deleted or not exist.",
            "context": {"ids": ids},
            "links": {},
            "errors": [],
        }

    def records(self, object_type: str) -> dict[str, dict]:
        """The records of ``contacts``, ``companies`` or ``deals``, by id."""
        return {"contacts": self.contacts, "companies": self.companies, "deals": self.deals}[object_type]

    def _write_properties(self, record_id: str, properties: dict, object_type: str = "contacts") -> None:
        unknown = [name for name in properties if name not in self.properties[object_type]]
        if unknown:
            raise ValueError(
                f'Property values were not valid: [{{"isValid":false,"message":"Property \\"{unknown[0]}\\" '
                f'does not exist","error":"PROPERTY_DOESNT_EXIST","name":"{unknown[0]}"}}]'
            )
        stored = self.records(object_type)[record_id]
        for name, value in properties.items():
            if stored.get(name) != value:
                stored[name] = value
                self.writes[(object_type, record_id, name)] += 1
                if object_type == "contacts":
                    self.property_writes[(record_id, name)] += 1
        stored[MODIFIED[object_type]] = _now_iso()

    def handle(self, method: str, path: str, query: str, body) -> tuple[int, object]:
        with self.lock:
            match = re.fullmatch(r"/crm/v3/objects/(contacts|companies|deals)/batch/update", path)
            if method == "POST" and match:
                # Batch update by id (the same endpoint for every object type): unknown ids are
                # rejected in a 207 answer, an unknown property fails the whole batch (400).
                object_type = match.group(1)
                records = self.records(object_type)
                results, missing = [], []
                for item in body["inputs"]:
                    if item["id"] not in records:
                        missing.append(item["id"])
                for item in body["inputs"]:  # HubSpot validates property names for the whole batch first
                    if item["id"] in records:
                        bad = [n for n in item["properties"] if n not in self.properties[object_type]]
                        if bad:
                            return self._error(
                                400,
                                f'Property values were not valid: Property "{bad[0]}" does not exist',
                                "VALIDATION_ERROR",
                            )
                for item in body["inputs"]:
                    if item["id"] in records:
                        self._write_properties(item["id"], item["properties"], object_type)
                        results.append(self._object(item["id"], dict(records[item["id"]])))
                return self._batch_answer(results, [self._not_found(missing, object_type)] if missing else [])
            if method == "POST" and path == "/crm/v3/objects/contacts/batch/upsert":
                results = []
                for item in body["inputs"]:
                    bad = [n for n in item["properties"] if n not in self.properties["contacts"]]
                    if bad:
                        return self._error(400, f'Property "{bad[0]}" does not exist', "VALIDATION_ERROR")
                for item in body["inputs"]:
                    assert item.get("idProperty") == "email"
                    found = next(
                        (
                            cid
                            for cid, props in self.contacts.items()
                            if props.get("email", "").lower() == item["id"].lower()
                        ),
                        None,
                    )
                    new = found is None
                    if new:
                        found = self.add_contact(item["id"])
                    self._write_properties(found, item["properties"])
                    results.append({**self._object(found, dict(self.contacts[found])), "new": new})
                return self._batch_answer(results, [])
            match = re.fullmatch(r"/crm/v3/lists/([^/]+)/memberships/add", path)
            if method == "PUT" and match:
                list_id = match.group(1)
                if list_id not in self.lists:
                    return self._error(404, f"List {list_id} does not exist.", "OBJECT_NOT_FOUND")
                added, missing = [], []
                for record_id in body:
                    if record_id not in self.contacts:
                        missing.append(record_id)
                    elif record_id not in self.lists[list_id]:
                        self.lists[list_id].add(record_id)
                        self.list_adds[(list_id, record_id)] += 1
                        added.append(record_id)
                return 200, {"recordsIdsAdded": added, "recordIdsMissing": missing, "recordIdsRemoved": []}
            match = re.fullmatch(r"/automation/v2/workflows/([^/]+)/enrollments/contacts/(.+)", path)
            if method == "POST" and match:
                workflow_id, email = match.group(1), unquote(match.group(2))
                if workflow_id not in self.workflows:
                    return self._error(404, f"Workflow {workflow_id} does not exist.", "OBJECT_NOT_FOUND")
                self.workflows[workflow_id].add(email)
                self.enrollment_count[(workflow_id, email)] += 1
                return 204, None
            match = re.fullmatch(r"/automation/v2/workflows/enrollments/contacts/([^/]+)", path)
            if method == "GET" and match:
                email = self.contacts.get(match.group(1), {}).get("email")
                return 200, [
                    {"id": int(wf) if wf.isdigit() else wf, "name": f"Workflow {wf}"}
                    for wf, emails in self.workflows.items()
                    if email in emails
                ]
            if method == "POST" and path == "/crm/v3/objects/tasks/batch/read":
                assert body.get("idProperty") == "revlens_action_key"
                wanted = [item["id"] for item in body["inputs"]]
                results = [
                    self._object(tid, task["properties"])
                    for tid, task in self.tasks.items()
                    if task["properties"].get("revlens_action_key") in wanted
                ]
                found = {r["properties"]["revlens_action_key"] for r in results}
                missing = [key for key in wanted if key not in found]
                errors = [{**self._not_found(missing), "message": "Could not get some TASK objects"}] if missing else []
                return self._batch_answer(results, errors)
            if method == "POST" and path == "/crm/v3/objects/tasks/batch/create":
                if "revlens_action_key" not in self.properties["tasks"]:
                    return self._error(400, 'Property "revlens_action_key" does not exist', "VALIDATION_ERROR")
                keys = {t["properties"].get("revlens_action_key") for t in self.tasks.values()}
                for item in body["inputs"]:
                    if item["properties"].get("revlens_action_key") in keys:
                        return self._error(
                            400,
                            "A task with this revlens_action_key already exists (unique property).",
                            "VALIDATION_ERROR",
                        )
                    for association in item["associations"]:
                        if association["to"]["id"] not in self.contacts:
                            return self._error(
                                400, f"Contact {association['to']['id']} does not exist.", "VALIDATION_ERROR"
                            )
                results = []
                for item in body["inputs"]:
                    task_id = self.new_id()
                    self.tasks[task_id] = {"properties": dict(item["properties"]), "associations": item["associations"]}
                    results.append(self._object(task_id, item["properties"]))
                return self._batch_answer(results, [], status_ok=201)
            match = re.fullmatch(r"/crm/v3/properties/([^/]+)/groups", path)
            if match and method == "GET":
                return 200, {
                    "results": [
                        {
                            "name": PROPERTY_GROUPS.get(match.group(1), "information"),
                            "label": "Information",
                            "displayOrder": -1,
                            "archived": False,
                        }
                    ]
                }
            match = re.fullmatch(r"/crm/v3/properties/([^/]+)", path)
            if match and method == "GET":
                return 200, {"results": list(self.properties.setdefault(match.group(1), {}).values())}
            if match and method == "POST":
                existing = self.properties.setdefault(match.group(1), {})
                if body["name"] in existing:
                    return self._error(409, f"Property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
                existing[body["name"]] = {**self._property_body(body["name"], match.group(1)), **body}
                return 201, existing[body["name"]]
            match = re.fullmatch(r"/crm/v3/objects/(contacts|deals)/search", path)
            if match and method == "POST":
                return self._search(match.group(1), body)
            if method == "POST" and path == "/crm/v4/associations/deals/contacts/batch/read":
                results = [
                    {
                        "from": {"id": item["id"]},
                        "to": [
                            {
                                "toObjectId": int(self.deal_contact[item["id"]]),
                                "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}],
                            }
                        ],
                    }
                    for item in body["inputs"]
                    if item["id"] in self.deal_contact
                ]
                return self._batch_answer(results, [])
        return self._error(404, f"No route {method} {path} in the test server.", "OBJECT_NOT_FOUND")

    def _search(self, object_type: str, body: dict) -> tuple[int, dict]:
        store = self.contacts if object_type == "contacts" else self.deals
        modified = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        rows = list(store.items())
        for group in body.get("filterGroups", []):
            for condition in group["filters"]:
                assert condition["propertyName"] == modified, condition
                threshold = condition["value"]
                if str(threshold).isdigit():  # datetimes are filtered in epoch milliseconds
                    moment = datetime.fromtimestamp(int(threshold) / 1000, tz=UTC)
                    threshold = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
                if condition["operator"] == "GTE":
                    rows = [(i, p) for i, p in rows if p[modified] >= threshold]
                elif condition["operator"] == "GT":
                    rows = [(i, p) for i, p in rows if p[modified] > threshold]
        rows.sort(key=lambda item: (item[1][modified], int(item[0])))
        after = int(body.get("after") or 0)
        limit = int(body.get("limit", 10))
        if after >= 10_000:  # HubSpot's search stops at 10,000 results
            return self._error(400, "Search results are limited to 10,000.", "VALIDATION_ERROR")
        page = rows[after : after + limit]
        wanted = body.get("properties") or []
        results = [self._object(i, {k: v for k, v in p.items() if k in wanted or k == "hs_object_id"}) for i, p in page]
        answer = {"total": len(rows), "results": results}
        if after + limit < len(rows):
            answer["paging"] = {"next": {"after": str(after + limit), "link": ""}}
        return 200, answer

    # -- HTTP -----------------------------------------------------------------------

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One write per answer (headers and body together), no Nagle: otherwise keep-alive
            # clients wait ~40 ms per request on delayed ACKs.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parsed = urlparse(self.path)
                body = json.loads(raw) if raw else None
                with server.lock:
                    server.requests.append(
                        {
                            "method": method,
                            "path": parsed.path,
                            "body": body,
                            "authorization": self.headers.get("Authorization"),
                        }
                    )
                if server.latency_s:
                    time.sleep(server.latency_s)
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._answer(
                        *server._error(
                            401,
                            "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                            "INVALID_AUTHENTICATION",
                        )
                    )
                fault = server._take_fault(parsed.path)
                if fault and fault.kind == "slow":
                    time.sleep(fault.delay_s)
                if fault and fault.kind == "drop":
                    return self._drop()
                if fault and fault.kind == "429":
                    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                    return self._answer(
                        429,
                        {
                            "status": "error",
                            "message": "You have reached your secondly limit.",
                            "errorType": "RATE_LIMIT",
                            "correlationId": "x",
                            "policyName": "SECONDLY",
                        },
                        headers,
                    )
                if fault and fault.kind == "500":
                    return self._answer(*server._error(500, "internal error", "INTERNAL_ERROR"))
                try:
                    status, answer = server.handle(method, parsed.path, parsed.query, body)
                except (KeyError, TypeError, ValueError, AssertionError) as exc:
                    status, answer = server._error(400, f"Invalid input JSON: {exc}", "VALIDATION_ERROR")
                if fault and fault.kind == "drop_after_apply":
                    return self._drop()
                if fault and fault.kind == "hang_after_apply":  # applied; the answer comes too late
                    server.applied_then_hung.set()
                    time.sleep(fault.delay_s)
                return self._answer(status, answer)

            def _drop(self):
                self.close_connection = True
                self.wfile = open(os.devnull, "wb")  # nothing buffered may reach the client
                self.connection.shutdown(2)

            def _answer(self, status: int, answer, headers: dict | None = None):
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PUT(self):
                self._serve("PUT")

        return Handler


def seed_contacts(server: HubSpotServer, count: int) -> list[str]:
    """``count`` contacts with ids "1".."count" and emails c<i>@example.com."""
    return [server.add_contact(f"c{i}@example.com", contact_id=str(i)) for i in range(1, count + 1)]


def seed_companies(server: HubSpotServer, count: int, first_id: int = 5001) -> list[str]:
    """``count`` companies with ids first_id.. and names "Company <i>"."""
    return [server.add_company(f"Company {i}", company_id=str(first_id + i)) for i in range(count)]


def seed_deals(server: HubSpotServer, count: int, first_id: int = 9001) -> list[str]:
    """``count`` deals with ids first_id.. and names "Deal <i>" (no contact)."""
    return [server.add_deal(deal_id=str(first_id + i), dealname=f"Deal {i}") for i in range(count)]


if __name__ == "__main__":  # a standalone server for the benchmark or manual tries
    import argparse

    parser = argparse.ArgumentParser(description="Local HubSpot test server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="pat-test-token")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--list-id", default="42")
    args = parser.parse_args()
    srv = HubSpotServer(args.token, port=args.port)
    seed_contacts(srv, args.contacts)
    srv.lists[args.list_id] = set()
    srv.start()
    print(srv.base_url, flush=True)
    try:
        srv.thread.join()
    except KeyboardInterrupt:
        srv.stop()
