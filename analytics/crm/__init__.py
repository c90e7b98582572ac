"""The CRM: write-back to HubSpot, and the pull of its changes into the warehouse.

* :mod:`~analytics.crm.actions` — the outbox (``queue``: plan, enqueue, list, retry,
  cancel), delivery exactly once (``delivery``), and the write-back kinds, one module each
  (``kinds``, with the :data:`~analytics.crm.actions.kinds.KINDS` registry);
* :mod:`~analytics.crm.hubspot` — the transport (the SDK gateway) and the custom properties;
* :mod:`~analytics.crm.targets` — what the pages push (targets built in SQL);
* :mod:`~analytics.crm.sync` — the pull sync of contacts and deals.
"""
