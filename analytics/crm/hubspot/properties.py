"""The custom HubSpot properties RevLens writes, per object type, and how they are created when missing.

:data:`CUSTOM_PROPERTIES` is the catalogue: each :class:`PropertySpec` names its object type
(``contacts``, ``companies``, ``deals``), its HubSpot name, label and data type, and the
event topic a write of it belongs to. The spec's contact properties
(``marketing_platform_lead_score``, ``last_campaign_interaction``) come first; then what the
capabilities push: health and risk to contacts, health scores and churn probability to
companies, attributed revenue to contacts and attributed campaigns to deals.

:func:`ensure_properties` creates the missing ones before a write needs them (the property
kinds declare what they write; ``create_properties`` creates a chosen set), reading
HubSpot's list first and treating a 409 as "already there". New properties go in the
object's default group (``contactinformation``, ``companyinformation``,
``dealinformation``); for any other object type the group is looked up.

SDK calls (hubspot-api-client 12.0.0): ``crm.properties.core_api.get_all`` → ``GET
/crm/v3/properties/{objectType}``, ``.create`` → ``POST /crm/v3/properties/{objectType}``,
``crm.properties.groups_api.get_all`` → ``GET /crm/v3/properties/{objectType}/groups``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from analytics.crm.hubspot.transport import HubSpotGateway, PermanentError, PlannedRequest

# The HubSpot object types RevLens writes records of, with the singular that messages use.
OBJECT_TYPES: dict[str, str] = {"contacts": "contact", "companies": "company", "deals": "deal"}

# The group HubSpot puts an object's own properties in; other object types look theirs up.
DEFAULT_GROUPS: dict[str, str] = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
}


@dataclass(frozen=True)
class PropertySpec:
    """A custom property RevLens writes; created in HubSpot when missing.

    ``topic`` is the event topic of an update that writes it (None: the kind's own topic).
    """

    object_type: str
    name: str
    label: str
    type: str  # HubSpot data type: number | string
    field_type: str  # HubSpot field type: number | text
    description: str
    has_unique_value: bool = False
    topic: str | None = None

    def body(self, group_name: str | None = None) -> dict:
        """The JSON body of ``POST /crm/v3/properties/{objectType}`` for this property."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": group_name or DEFAULT_GROUPS.get(self.object_type, "contactinformation"),
            "description": self.description,
            "hasUniqueValue": self.has_unique_value,
        }


def _number(object_type: str, name: str, label: str, description: str, topic: str | None = None) -> PropertySpec:
    return PropertySpec(object_type, name, label, "number", "number", description, topic=topic)


def _text(object_type: str, name: str, label: str, description: str, topic: str | None = None) -> PropertySpec:
    return PropertySpec(object_type, name, label, "string", "text", description, topic=topic)


CUSTOM_PROPERTIES: tuple[PropertySpec, ...] = (
    # contacts: the spec's two, then health, risk and attribution
    _number(
        "contacts", "marketing_platform_lead_score", "Marketing platform lead score", "Lead score computed by RevLens."
    ),
    _text(
        "contacts",
        "last_campaign_interaction",
        "Last campaign interaction",
        "Most recent campaign touch seen by RevLens (campaign name and date).",
        topic="revenue-attribution",
    ),
    _number(
        "contacts",
        "marketing_platform_health_score",
        "Health score",
        "Customer health score (0-100) computed by RevLens.",
        topic="customer-health",
    ),
    _text(
        "contacts",
        "marketing_platform_health_band",
        "Health band",
        "Health band computed by RevLens (healthy, watch, at risk).",
        topic="customer-health",
    ),
    _text(
        "contacts",
        "marketing_platform_risk_level",
        "Risk level",
        "Churn risk level computed by RevLens (low, medium, high).",
        topic="customer-health",
    ),
    _number(
        "contacts",
        "marketing_platform_attributed_revenue",
        "Attributed revenue",
        "Closed-won revenue RevLens attributes to this contact's campaign touches.",
        topic="revenue-attribution",
    ),
    # companies: the account's health
    _number(
        "companies",
        "marketing_platform_health_score",
        "Health score",
        "Account health score (0-100) computed by RevLens.",
        topic="customer-health",
    ),
    _text(
        "companies",
        "marketing_platform_health_band",
        "Health band",
        "Account health band computed by RevLens (healthy, at risk, critical).",
        topic="customer-health",
    ),
    _number(
        "companies",
        "marketing_platform_churn_probability",
        "Churn probability",
        "Probability (0-1) that the account churns, predicted by RevLens.",
        topic="customer-health",
    ),
    # companies: adoption's expansion signals (analytics.customers.adoption)
    _text(
        "companies",
        "marketing_platform_expansion_signal",
        "Expansion signal",
        "Expansion signals RevLens found for the account (breadth on a lower plan, seats near the limit, "
        "advanced features), each with its reason.",
        topic="customer-health",
    ),
    # deals: what the attribution credited
    _text(
        "deals",
        "marketing_platform_attributed_campaigns",
        "Attributed campaigns",
        "Campaigns RevLens credits with this deal, with their shares (e.g. 'Webinar Q3 60%; Search 40%').",
        topic="revenue-attribution",
    ),
    _text(
        "deals",
        "marketing_platform_attribution_model",
        "Attribution model",
        "The attribution model behind the attributed campaigns (e.g. linear, markov).",
        topic="revenue-attribution",
    ),
)


def custom_properties(object_type: str) -> dict[str, PropertySpec]:
    """The catalogue's properties of one object type, by name."""
    return {spec.name: spec for spec in CUSTOM_PROPERTIES if spec.object_type == object_type}


def catalogued(object_type: str, names: Iterable[str]) -> list[PropertySpec]:
    """The catalogue's specs among ``names`` of ``object_type`` (others are HubSpot's own or the user's)."""
    known = custom_properties(object_type)
    return [known[name] for name in dict.fromkeys(names) if name in known]


# ---------------------------------------------------------------------------------------
# Requests and their sending


def list_request(object_type: str) -> PlannedRequest:
    return PlannedRequest(
        "GET",
        f"/crm/v3/properties/{quote(object_type, safe='')}",
        operation="crm.properties.core_api.get_all",
        arguments=(object_type,),
    )


def create_request(spec: PropertySpec, group_name: str | None = None) -> PlannedRequest:
    return PlannedRequest(
        "POST",
        f"/crm/v3/properties/{quote(spec.object_type, safe='')}",
        spec.body(group_name),
        operation="crm.properties.core_api.create",
        arguments=(spec.object_type,),
    )


def property_names(gateway: HubSpotGateway, object_type: str) -> set[str]:
    answer = gateway.send(list_request(object_type)) or {}
    return {prop["name"] for prop in answer.get("results") or []}


def property_group(gateway: HubSpotGateway, object_type: str) -> str:
    """The group new properties of ``object_type`` go in: its default group, else its first one."""
    if object_type in DEFAULT_GROUPS:
        return DEFAULT_GROUPS[object_type]
    request = PlannedRequest(
        "GET",
        f"/crm/v3/properties/{quote(object_type, safe='')}/groups",
        operation="crm.properties.groups_api.get_all",
        arguments=(object_type,),
    )
    groups = [group["name"] for group in (gateway.send(request) or {}).get("results") or []]
    if not groups:
        raise PermanentError(f"HubSpot has no property group for {object_type}; create one in HubSpot first.")
    return groups[0]


def create_property(gateway: HubSpotGateway, spec: PropertySpec, group_name: str) -> bool:
    """Create one property; False when HubSpot says it already exists (409)."""
    try:
        gateway.send(create_request(spec, group_name))
    except PermanentError as exc:
        if exc.status == 409:
            return False
        raise
    return True


def ensure_properties(gateway: HubSpotGateway, specs: Iterable[PropertySpec]) -> list[PropertySpec]:
    """Create those of ``specs`` that HubSpot lacks (one list read per object type); returns those created."""
    by_object: dict[str, list[PropertySpec]] = {}
    for spec in dict.fromkeys(specs):
        by_object.setdefault(spec.object_type, []).append(spec)
    created = []
    for object_type, wanted in by_object.items():
        present = property_names(gateway, object_type)
        missing = [spec for spec in wanted if spec.name not in present]
        if not missing:
            continue
        group = property_group(gateway, object_type)
        created.extend(spec for spec in missing if create_property(gateway, spec, group))
    return created
