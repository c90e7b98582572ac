"""``create_task``: a HubSpot task per contact, for its owner, associated to the contact.

``crm.objects.tasks.batch_api.create`` → ``POST /crm/v3/objects/tasks/batch/create``, 100 tasks
per request, each associated to its contact (``HUBSPOT_DEFINED`` type 204, task → contact) and
assigned to ``owner_id`` (``hubspot_owner_id``) when the target has one. The task is due
``due_in_days`` after the action was planned.

Exactly once: every task carries ``revlens_action_key`` = ``<action key>:<contact id>``, a
property with unique values (created first when missing). A resend after an unknown outcome
first reads which keys exist (``crm.objects.tasks.batch_api.read`` with ``idProperty`` →
``POST /crm/v3/objects/tasks/batch/read``) and creates only the others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from analytics.core.errors import RevLensError
from analytics.crm.actions.kinds.base import ActionKind, Attempt, CsvColumns, Param, batch_outcome, whole_number
from analytics.crm.hubspot.properties import PropertySpec
from analytics.crm.hubspot.transport import HubSpotGateway, PlannedRequest

TASK_TO_CONTACT = 204  # HUBSPOT_DEFINED association type id: task -> contact
TASK_KEY_PROPERTY = "revlens_action_key"
TASK_KEY = PropertySpec(
    "tasks",
    TASK_KEY_PROPERTY,
    "RevLens action key",
    "string",
    "text",
    "Idempotency key of the RevLens action that created this task.",
    has_unique_value=True,
)
PRIORITIES = ("LOW", "MEDIUM", "HIGH")


MAX_DUE_IN_DAYS = 3650


def task_key(action_key: str, target: dict) -> str:
    return f"{action_key}:{target['hubspot_id']}"


def task_due(payload: dict, created_at: datetime) -> str:
    """The task's due timestamp: ``due_in_days`` after the action was created, ISO 8601 UTC."""
    due = created_at.astimezone(UTC) + timedelta(days=int(payload.get("due_in_days", 2)))
    return due.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class CreateTask(ActionKind):
    name = "create_task"
    object_type = "contacts"
    topic = "customer-health"
    columns = CsvColumns(identity=("hubspot_id",), extra=("email", "owner_id"))
    params = (
        Param("subject", "the task subject", required=True),
        Param("body", "the task body", default=""),
        Param(
            "priority", "the task priority: LOW, MEDIUM or HIGH", default="MEDIUM", parse=str.upper, choices=PRIORITIES
        ),
        Param(
            "due_in_days",
            "the task is due this many days after queuing",
            default=2,
            parse=whole_number,
            expects="a whole number of days",
        ),
    )

    def validate_payload(self, payload: dict) -> None:
        super().validate_payload(payload)
        days = payload.get("due_in_days", 0)
        if not 0 <= days <= MAX_DUE_IN_DAYS:
            raise RevLensError(
                f"--due-in-days of create_task must be 0 or more, and at most {MAX_DUE_IN_DAYS} (ten years); {days} is not."
            )

    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
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
        return [
            PlannedRequest(
                "POST",
                "/crm/v3/objects/tasks/batch/create",
                {"inputs": inputs},
                operation="crm.objects.tasks.batch_api.create",
            )
        ]

    def sends(self, target: dict, payload: dict) -> str:
        return f"task: {payload.get('subject', '')}"

    def custom_properties(self, targets: list[dict], payload: dict) -> list[PropertySpec]:
        return [TASK_KEY]

    @staticmethod
    def existing_keys(gateway: HubSpotGateway, keys: list[str]) -> set[str]:
        """Which task keys already exist in HubSpot (batch read by the unique key property)."""
        body = {
            "idProperty": TASK_KEY_PROPERTY,
            "inputs": [{"id": key} for key in keys],
            "properties": [TASK_KEY_PROPERTY],
            "propertiesWithHistory": [],
        }
        request = PlannedRequest(
            "POST", "/crm/v3/objects/tasks/batch/read", body, operation="crm.objects.tasks.batch_api.read"
        )
        answer = gateway.send(request) or {}
        return {(obj.get("properties") or {}).get(TASK_KEY_PROPERTY) for obj in answer.get("results") or []} - {None}

    def send(self, gateway: HubSpotGateway, batch: list[dict], payload: dict, attempt: Attempt) -> dict:
        [request] = self.requests(batch, payload, attempt.action_key, attempt.created_at)
        keys = [task_key(attempt.action_key, t) for t in batch]
        existing = self.existing_keys(gateway, keys) if attempt.uncertain else set()
        inputs = [item for item in request.body["inputs"] if item["properties"][TASK_KEY_PROPERTY] not in existing]
        if inputs:
            sent = PlannedRequest(request.method, request.path, {"inputs": inputs}, request.operation)
            counts = batch_outcome(gateway.send(sent), len(inputs))
        else:
            counts = {"sent": 0, "applied": 0, "rejected": 0, "rejection": ""}
        counts["already_created"] = len(existing)
        return counts
