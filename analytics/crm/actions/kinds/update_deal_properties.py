"""``update_deal_properties``: deal properties by HubSpot id (attributed campaigns and their model).

``crm.deals.batch_api.update`` → ``POST /crm/v3/objects/deals/batch/update`` with
``{"inputs": [{"id", "properties"}]}``; targets ``{hubspot_id, properties}``. A resend sets the
same values again: nothing changes twice.
"""

from __future__ import annotations

from analytics.crm.actions.kinds.property_update import PropertyUpdate


class UpdateDealProperties(PropertyUpdate):
    name = "update_deal_properties"
    object_type = "deals"
    topic = "revenue-attribution"
