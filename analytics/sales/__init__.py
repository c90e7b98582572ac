"""Sales: the lead pipeline after import — scoring, qualification and routing (the spec's
``calculateLeadScore``, ``assignSalesRep`` and ``triggerFollowUpSequence``).

This package owns:

* :mod:`~analytics.sales.features` — lead feature preparation in SQL (profile with
  lead-to-account matching, the event stream, outcomes) and the model features built at load;
* :mod:`~analytics.sales.rules` — the editable rules file (``data/lead_rules.txt``);
* :mod:`~analytics.sales.scoring` — the rule score 0–100, row by row in SQL, with grade, tier, reasons;
* :mod:`~analytics.sales.predictive` — the calibrated predictive score, its out-of-time
  model card, the small-data fallback;
* :mod:`~analytics.sales.funnel` — the qualification funnel, stage timing, cohorts,
  Kaplan–Meier time to convert, sales velocity;
* :mod:`~analytics.sales.routing` — routing (rules, account owners, territory/segment pools,
  round robin / weighted / load-based with capacity and time off, fallback queue), its
  audit, and replay; :mod:`~analytics.sales.sla` and :mod:`~analytics.sales.hours` — the
  first-touch SLA in business hours;
* :mod:`~analytics.sales.store` — routing's ops-store tables (audit, assignments, time off);
* :mod:`~analytics.sales.writeback` — what is pushed to HubSpot (owner, score, follow-up lists);
* :mod:`~analytics.sales.leads` — the entry points the pages and the CLI call.

Formulas and every rule: ``docs/leads.md``.
"""
