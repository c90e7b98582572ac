"""Marketing pages: Overview (KPIs and trends) and Attribution (revenue by channel, campaign and model)."""
