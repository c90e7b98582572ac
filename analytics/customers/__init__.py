"""Customers: what each contact and account did and how it is doing.

- :mod:`~analytics.customers.timeline`: a contact's unified timeline (touchpoints, email, content,
  opportunities, in order).

Health, retention, churn, adoption and feedback go here.
"""
