"""Customers: what each contact and account did (the timeline); later health, retention, churn, adoption, feedback."""
