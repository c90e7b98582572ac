"""HubSpot: the transport (:mod:`~analytics.crm.hubspot.transport`: the SDK gateway with timeouts, a rate
limit, error classification and no hidden retries) and the custom properties RevLens writes, per object type
(:mod:`~analytics.crm.hubspot.properties`). The request builders live in the write-back kinds."""
