"""Customers: what each contact and account did and how it is doing.

- :mod:`~analytics.customers.timeline`: a contact's unified timeline (touchpoints, email, content,
  opportunities, in order).
- Customer health (the spec's "Customer Health Monitoring" and "Retention Campaign
  Automation"; every formula, window and rule in ``docs/health.md``):

  - :mod:`~analytics.customers.features`: the measures every account has as of any date
    (usage, support, payments, marketing engagement), as one chain of named SQL CTEs; the data
    preparation, apart from the scoring;
  - :mod:`~analytics.customers.config`: the weights, bands and key features (saved in the ops store);
  - :mod:`~analytics.customers.health`: the six components, the overall score, coverage, bands,
    the weekly history (a derived table rebuilt at every load), ``health_trend`` and why a
    score changed;
  - :mod:`~analytics.customers.retention`: the seven retention triggers with their evidence;
  - :mod:`~analytics.customers.validation`: does the score predict churn (rate per band,
    ROC-AUC, fitted weights);
  - :mod:`~analytics.customers.churn`: the calibrated churn model (``ChurnModel``), its model
    card, drivers per account and ARR at risk (``arr_at_risk`` for the Overview);
  - :mod:`~analytics.customers.interventions`: targets of the retention actions,
    ``logRetentionIntervention``, recovery within 60 days, and the ``customer-health`` event
    on a band change;
  - :mod:`~analytics.customers.activity` and :mod:`~analytics.customers.portfolio`: what the
    Health page lists and drills into.

Adoption and feedback go here too.
"""
