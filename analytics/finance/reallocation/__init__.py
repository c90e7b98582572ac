"""Budget reallocation (the spec's ``optimizeBudgetAllocation``): response curves fitted in
seconds, a provably optimal allocation, and a backtest beside the advice.

The parts, apart from one another as in PyMC-Marketing:

- :mod:`.inputs`: weekly spend and attributed revenue per channel, CAC, LTV, seasonality (SQL
  through the runner, the credit from the attribution engine);
- :mod:`.curves`: the curve protocol (``value``, ``marginal``), the registry of curve kinds
  (Hill), the Hill fit with optional adstock and bootstrap intervals;
- :mod:`.userfile`: curves from the user's own marketing-mix model (CSV or JSON);
- :mod:`.optimizer`: the optimum over the protocol, its optimality check, the target scenarios;
- :mod:`.backtest`: the hold-out MAPE and the regret under the demo's planted curves;
- :mod:`.plan`: all of it put together, in the spec's output shape (:func:`.plan.reallocate`).
"""
