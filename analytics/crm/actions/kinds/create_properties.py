"""``create_properties``: create RevLens's custom properties of one object type in HubSpot (no targets).

Payload: ``object_type`` (``contacts``, ``companies`` or ``deals``; default contacts) and
``names`` (default: every catalogued property of that object type,
:data:`analytics.crm.hubspot.properties.CUSTOM_PROPERTIES`). ``crm.properties.core_api.get_all``
→ ``GET /crm/v3/properties/{objectType}`` reads what exists, then ``.create`` → ``POST
/crm/v3/properties/{objectType}`` creates each missing one in the object's default group. A
resend reads the list again and skips what exists; a 409 counts as existing.
"""

from __future__ import annotations

from datetime import datetime

from analytics.core.errors import RevLensError
from analytics.crm.actions.kinds.base import ActionKind, Attempt, Param, comma_list
from analytics.crm.hubspot.properties import (
    DEFAULT_GROUPS,
    OBJECT_TYPES,
    create_request,
    custom_properties,
    ensure_properties,
    list_request,
)
from analytics.crm.hubspot.transport import HubSpotGateway, PlannedRequest


class CreateProperties(ActionKind):
    name = "create_properties"
    object_type = None  # writes property definitions, of the payload's object type
    topic = "lead-capture"
    params = (
        Param(
            "object_type",
            "the HubSpot object type whose properties are created: contacts, companies or deals",
            default="contacts",
            choices=tuple(DEFAULT_GROUPS),
        ),
        Param(
            "names",
            "comma-separated custom properties; default: all of the object type",
            parse=comma_list,
            expects="comma-separated property names",
        ),
    )

    def normalize(self, payload: dict) -> dict:
        normalized = super().normalize(payload)
        if not normalized.get("names") and normalized["object_type"] in DEFAULT_GROUPS:
            normalized["names"] = list(custom_properties(normalized["object_type"]))
        return normalized

    def validate_payload(self, payload: dict) -> None:
        super().validate_payload(payload)
        known = custom_properties(payload["object_type"])
        unknown = [name for name in payload["names"] if name not in known]
        if unknown:
            raise RevLensError(
                f"create_properties creates {payload['object_type']} properties from {', '.join(known)}; "
                f"{', '.join(unknown)} is not one of them."
            )

    def specs(self, payload: dict) -> list:
        known = custom_properties(payload["object_type"])
        return [known[name] for name in payload["names"]]

    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
        return [list_request(payload["object_type"])] + [create_request(spec) for spec in self.specs(payload)]

    def request_count(self, targets: list[dict], batches: list[list[dict]], payload: dict) -> int:
        return 1 + len(payload["names"])

    def sends(self, target: dict, payload: dict) -> str:
        return ""  # no targets

    def amount(self, targets: list[dict], payload: dict) -> str:
        count = len(payload["names"])
        singular = OBJECT_TYPES.get(payload["object_type"], payload["object_type"])
        return f"{count} custom {singular} propert{'y' if count == 1 else 'ies'} (those missing in HubSpot)"

    def preview_table(self, payload: dict) -> list[dict]:
        """The properties it creates when missing: label, name, data type, field type and description."""
        return [
            {
                "Label": spec.label,
                "Property": spec.name,
                "Data type": spec.type,
                "Field type": spec.field_type,
                "Description": spec.description,
            }
            for spec in self.specs(payload)
        ]

    def send(self, gateway: HubSpotGateway, batch: list[dict], payload: dict, attempt: Attempt) -> dict:
        created = ensure_properties(gateway, self.specs(payload))
        return {"created": len(created), "existing": len(payload["names"]) - len(created)}
