"""``add_to_list``: contacts into a static HubSpot list, to start a campaign (a campaign kind).

``crm.lists.memberships_api.add`` → ``PUT /crm/v3/lists/{listId}/memberships/add`` with the
contact ids as the body, 100 per request. HubSpot ignores contacts already in the list, so a
resend after an unknown outcome adds nobody twice; ids HubSpot does not know come back in
``recordIdsMissing`` and are reported, not failed.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from analytics.crm.actions.kinds.base import ActionKind, Attempt, CsvColumns, Param
from analytics.crm.hubspot.transport import HubSpotGateway, PlannedRequest


class AddToList(ActionKind):
    name = "add_to_list"
    object_type = "contacts"
    topic = "campaign-performance"
    campaign = True
    columns = CsvColumns(identity=("hubspot_id",), extra=("email",))
    params = (Param("list_id", "the HubSpot list id (the ILS id of a static list)", required=True),)

    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
        list_id = str(payload["list_id"])
        return [
            PlannedRequest(
                "PUT",
                f"/crm/v3/lists/{quote(list_id, safe='')}/memberships/add",
                [str(t["hubspot_id"]) for t in batch],
                operation="crm.lists.memberships_api.add",
                arguments=(list_id,),
            )
        ]

    def sends(self, target: dict, payload: dict) -> str:
        return f"add to list {payload['list_id']}"

    def send(self, gateway: HubSpotGateway, batch: list[dict], payload: dict, attempt: Attempt) -> dict:
        [request] = self.requests(batch, payload, attempt.action_key, attempt.created_at)
        answer = gateway.send(request) or {}
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
