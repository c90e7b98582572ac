"""Finance: what campaigns cost (``costs``), the ROI formulas (``roi``), budget consumption (``budget``),
and the financial report: its assembly (``report``), campaign drill-down (``drilldown``, credit from
the attribution engine) and exports (``export``: JSON records, the Excel workbook)."""
