"""What the property-update kinds share: batch update by HubSpot id of any object type.

``POST /crm/v3/objects/{objectType}/batch/update`` with ``{"inputs": [{"id", "properties"}]}``
(SDK ``crm.<objectType>.batch_api.update``), at most 100 records per request. Values travel
as strings (a float keeps up to 6 decimals, a whole float loses its ``.0``, None clears the
value). A resend after an unknown outcome sets the same values again, which changes nothing
in HubSpot, so delivery needs no lookup. A 207 answer (some ids unknown) does not fail the
action: its counts say how many HubSpot rejected, and why.

The topic of an update is that of the catalogued properties it writes
(:mod:`analytics.crm.hubspot.properties`): revenue attribution first, then customer health,
else the kind's own topic.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from analytics.core.errors import RevLensError
from analytics.crm.actions.kinds.base import ActionKind, Attempt, CsvColumns, batch_outcome
from analytics.crm.hubspot.properties import PropertySpec, catalogued
from analytics.crm.hubspot.transport import HubSpotGateway, PlannedRequest

PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
TOPIC_PRECEDENCE = ("revenue-attribution", "customer-health")


def strings(properties: dict) -> dict:
    """HubSpot property values travel as strings; None clears a value (empty string)."""
    return {name: "" if value is None else format_value(value) for name, value in properties.items()}


def format_value(value) -> str:
    if isinstance(value, float):
        return repr(round(value, 6)) if value != int(value) else str(int(value))
    return str(value)


class PropertyUpdate(ActionKind):
    """Update properties of records of :attr:`object_type`, identified by their HubSpot id."""

    columns = CsvColumns(identity=("hubspot_id",), properties=True)

    def validate_target(self, number: int, target: dict) -> None:
        super().validate_target(number, target)
        properties = target.get("properties") or {}
        if not properties:
            raise RevLensError(f"Target {number} has no properties to update; add at least one property column.")
        bad = [name for name in properties if not PROPERTY_NAME.match(str(name))]
        if bad:
            raise RevLensError(
                f"{bad[0]!r} is not a HubSpot property name (lowercase letters, digits, underscores); rename the column."
            )

    def update_request(self, batch: list[dict]) -> PlannedRequest:
        inputs = [{"id": str(t["hubspot_id"]), "properties": strings(t["properties"])} for t in batch]
        return PlannedRequest(
            "POST",
            f"/crm/v3/objects/{self.object_type}/batch/update",
            {"inputs": inputs},
            operation=f"crm.{self.object_type}.batch_api.update",
        )

    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
        return [self.update_request(batch)]

    def sends(self, target: dict, payload: dict) -> str:
        return json.dumps(strings(target.get("properties") or {}), sort_keys=True)

    def written(self, targets: list[dict], limit: int | None = None) -> set[str]:
        return {name for t in targets[:limit] for name in (t.get("properties") or {})}

    def custom_properties(self, targets: list[dict], payload: dict) -> list[PropertySpec]:
        return catalogued(self.object_type, sorted(self.written(targets)))

    def topic_for(self, targets: list[dict], payload: dict) -> str:
        topics = {spec.topic for spec in catalogued(self.object_type, self.written(targets, 1000))}
        return next((topic for topic in TOPIC_PRECEDENCE if topic in topics), self.topic)

    def send(self, gateway: HubSpotGateway, batch: list[dict], payload: dict, attempt: Attempt) -> dict:
        [request] = self.requests(batch, payload, attempt.action_key, attempt.created_at)
        return batch_outcome(gateway.send(request), len(request.body["inputs"]))
