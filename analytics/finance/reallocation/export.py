"""The advice as an Excel workbook (openpyxl): the allocation, the curves, the timeline, the
backtest; labels for people, machine names in a column beside them."""

from __future__ import annotations

import io

from analytics.core.labels import label


def workbook_bytes(result) -> bytes:
    """An ``.xlsx`` of a :class:`~analytics.finance.reallocation.plan.Reallocation`."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Allocation"
    table = result.table()
    sheet.append(["Channel", *[label("column", c) for c in table.columns]])
    for row in table.iter_rows():
        sheet.append([label("channel", row[0]), *row])
    curves = book.create_sheet("Curves")
    curves.append(["Channel", "channel", "source", "beta", "alpha", "kappa", "R²", "period (weeks)"])
    for channel, c in result.curves_dict().items():
        curves.append(
            [
                label("channel", channel),
                channel,
                c["source"],
                c["beta"],
                c["alpha"],
                c["kappa"],
                c["r2"],
                c["period_weeks"],
            ]
        )
    timeline = book.create_sheet("Timeline")
    timeline.append(["Step", "Weeks", "Expected revenue / week", "Floor (2.5%)", *result.channels])
    for step in result.timeline:
        timeline.append(
            [
                step["step"],
                f"{step['weeks'][0]}-{step['weeks'][1]}",
                step["checkpoint"]["expected"],
                step["checkpoint"]["floor"],
                *[step["allocation"][ch] for ch in result.channels],
            ]
        )
    backtest = book.create_sheet("Backtest")
    bt = result.backtest
    backtest.append(["MAPE (channels)", bt.get("mape")])
    backtest.append(["Error of the total", bt.get("total_error")])
    backtest.append(["Channel", "Predicted", "Actual", "Error"])
    for channel, row in (bt.get("channels") or {}).items():
        backtest.append([label("channel", channel), row["predicted"], row["actual"], row["error"]])
    planted = bt.get("planted")
    if planted:
        backtest.append([])
        backtest.append(["Regret under the planted curves", planted["regret"]])
        backtest.append(["Share of the achievable lift captured", planted["captured_share"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
