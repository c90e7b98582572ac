"""``update_company_properties``: company properties by HubSpot id (health scores, churn probability).

``crm.companies.batch_api.update`` → ``POST /crm/v3/objects/companies/batch/update`` with
``{"inputs": [{"id", "properties"}]}``; targets ``{hubspot_id, properties}``. A resend sets the
same values again: nothing changes twice.
"""

from __future__ import annotations

from analytics.crm.actions.kinds.property_update import PropertyUpdate


class UpdateCompanyProperties(PropertyUpdate):
    name = "update_company_properties"
    object_type = "companies"
    topic = "customer-health"
