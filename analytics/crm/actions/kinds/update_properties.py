"""``update_properties``: contact properties, by HubSpot id or by email.

By id: ``crm.contacts.batch_api.update`` → ``POST /crm/v3/objects/contacts/batch/update``.
By email: ``crm.contacts.batch_api.upsert`` → ``POST /crm/v3/objects/contacts/batch/upsert``
with ``idProperty: email`` (a contact HubSpot does not know is created). A batch is all by id
or all by email. A resend sets the same values again: nothing changes twice.
"""

from __future__ import annotations

from datetime import datetime

from analytics.crm.actions.kinds.base import BATCH_LIMIT, CsvColumns
from analytics.crm.actions.kinds.property_update import PropertyUpdate, strings
from analytics.crm.hubspot.transport import PlannedRequest


class UpdateContactProperties(PropertyUpdate):
    name = "update_properties"
    object_type = "contacts"
    topic = "lead-capture"
    columns = CsvColumns(identity=("hubspot_id", "email"), properties=True)

    def batches(self, targets: list[dict]) -> list[list[dict]]:
        """Batches of at most 100, those by id first, then those by email."""
        groups = [[t for t in targets if t.get("hubspot_id")], [t for t in targets if not t.get("hubspot_id")]]
        return [group[i : i + BATCH_LIMIT] for group in groups for i in range(0, len(group), BATCH_LIMIT)]

    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
        if batch[0].get("hubspot_id"):
            return [self.update_request(batch)]
        inputs = [{"id": t["email"], "idProperty": "email", "properties": strings(t["properties"])} for t in batch]
        return [
            PlannedRequest(
                "POST",
                "/crm/v3/objects/contacts/batch/upsert",
                {"inputs": inputs},
                operation="crm.contacts.batch_api.upsert",
            )
        ]
