"""Finance pages: ROI (campaign costs and returns, payback, budgets, the finance report)."""
