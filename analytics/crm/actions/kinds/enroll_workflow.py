"""``enroll_workflow``: contacts into a HubSpot workflow, one request per contact (a campaign kind).

``client.api_request`` → ``POST /automation/v2/workflows/{workflowId}/enrollments/contacts/{email}``
(the legacy endpoint; the SDK has no call for it). Exactly once: the batch records each
contact done (``progress``), so a resend starts at the first contact not recorded; that one
contact's outcome is unknown, so when it has a HubSpot id it is looked up first
(``GET /automation/v2/workflows/enrollments/contacts/{vid}``, its current workflows) and only
enrolled when it is not in the workflow yet.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from analytics.crm.actions.kinds.base import ActionKind, Attempt, CsvColumns, Param
from analytics.crm.hubspot.transport import HubSpotGateway, PlannedRequest


class EnrollWorkflow(ActionKind):
    name = "enroll_workflow"
    object_type = "contacts"
    topic = "campaign-performance"
    campaign = True
    columns = CsvColumns(identity=("email",), extra=("hubspot_id",))
    params = (Param("workflow_id", "the HubSpot workflow id", required=True),)

    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
        workflow = quote(str(payload["workflow_id"]), safe="")
        return [
            PlannedRequest(
                "POST", f"/automation/v2/workflows/{workflow}/enrollments/contacts/{quote(str(t['email']), safe='@')}"
            )
            for t in batch
        ]

    def request_count(self, targets: list[dict], batches: list[list[dict]], payload: dict) -> int:
        return len(targets)

    def sends(self, target: dict, payload: dict) -> str:
        return f"enroll in workflow {payload['workflow_id']}"

    @staticmethod
    def enrolled_workflows(gateway: HubSpotGateway, hubspot_id: str) -> set[str]:
        """Workflow ids the contact is currently enrolled in (legacy enrollments endpoint)."""
        answer = gateway.send(
            PlannedRequest("GET", f"/automation/v2/workflows/enrollments/contacts/{quote(str(hubspot_id))}")
        )
        return {str(item.get("id")) for item in answer or []}

    def send(self, gateway: HubSpotGateway, batch: list[dict], payload: dict, attempt: Attempt) -> dict:
        requests = self.requests(batch, payload, attempt.action_key, attempt.created_at)
        start = attempt.progress
        enrolled = already = 0
        for index in range(start, len(batch)):
            target = batch[index]
            if (
                attempt.uncertain
                and index == start
                and target.get("hubspot_id")
                and str(payload["workflow_id"]) in self.enrolled_workflows(gateway, target["hubspot_id"])
            ):  # the one contact whose enrollment may have happened before the crash
                already += 1
            else:
                gateway.send(requests[index])
                enrolled += 1
            attempt.advance(index + 1)
        return {
            "sent": len(batch) - start,
            "applied": enrolled,
            "already_enrolled": already,
            "rejected": 0,
            "rejection": "",
        }
