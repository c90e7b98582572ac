"""Write-back actions: the outbox (:mod:`~analytics.crm.actions.queue`), delivery
(:mod:`~analytics.crm.actions.delivery`) and the kinds (:mod:`~analytics.crm.actions.kinds`).

The queue and delivery are the same for every kind; what a kind does is asked of its
:class:`~analytics.crm.actions.kinds.base.ActionKind`.
"""
