"""The demo warehouse: a deterministic B2B SaaS business with planted ground truth.

- :mod:`~analytics.demo.truth`: the causes the demo is drawn from (channel lift, saturating
  spend response, churn drivers, feedback sentiment), which the models must recover;
- :mod:`~analytics.demo.builder`: ``build_demo(path, seed, touchpoints)``, every table drawn
  from one seeded generator (the app builds it on first start; ``python -m analytics demo``).
"""
