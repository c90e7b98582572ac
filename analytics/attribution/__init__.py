"""Attribution: which channels, campaigns and touch types earn the won revenue, under ten models.

Owns the model registry (``models``), the journey window (``window``), the definitions of won
deals and eligible touches that the Overview, finance and the CRM push share (``definitions``),
the journey tables built at every load and the journeys of a window (``journeys``), rule-based
credit (``rules``), Markov and Shapley inputs (``chains``, solved by ``markov`` and ``shapley``),
intervals (``bootstrap``), the page's explorers (``explorers``), path files (``paths``) and the
public functions (``engine``). Its few DuckDB-only SQL pieces are in ``dialect``.
"""
