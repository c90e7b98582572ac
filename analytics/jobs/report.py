"""The executive report: one HTML file that opens offline, with KPIs, attribution, ROI, health and budget.

Self-contained: plotly's JavaScript is inlined once (the first chart carries it, the others
reuse it), the style sheet is inline, and there is no link, font or image from elsewhere, so
the file can be mailed and opened without a network. Sections, in order: KPIs (the period
against the one before), Attribution (channel revenue under the rule models and Markov),
ROI (by channel: investment, attributed revenue, ROI %), Customer health (accounts and ARR per
band), Budget recommendation (the optimizer's reallocation of the same total across channels,
:func:`analytics.finance.reallocation.plan.reallocate`, with its expected improvement and
interval; and the campaigns projected to overspend).
"""

from __future__ import annotations

import html
from collections.abc import Callable

from analytics.core.labels import label
from analytics.core.money import money
from analytics.core.numbers import percent
from analytics.core.periods import ReportPeriod

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1f2430; padding: 0 1rem; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; } h2 { border-bottom: 2px solid #e3e6ee; padding-bottom: .3rem;
margin-top: 2.5rem; } .muted { color: #6b7280; } .kpis { display: flex; gap: 1rem; flex-wrap: wrap; }
.kpi { border: 1px solid #e3e6ee; border-radius: .5rem; padding: .8rem 1rem; min-width: 180px; }
.kpi .value { font-size: 1.5rem; font-weight: 600; } .up { color: #15803d; } .down { color: #b91c1c; }
table { border-collapse: collapse; width: 100%; margin: .8rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #e3e6ee; padding: .35rem .5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f6f7fb; }
"""

# the Overview's five KPIs (analytics.overview.kpis), named and formatted as that page does
KPI_TITLES = {
    "open_pipeline": ("Open pipeline", True),
    "won_revenue": ("Won revenue", True),
    "marketing_spend": ("Marketing spend", True),
    "active_accounts": ("Active accounts", False),
    "arr": ("ARR", True),
}


def _table(frame, columns: dict[str, str], formats: dict[str, Callable] | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(title)}</th>" for title in columns.values())
    body = []
    for row in frame.select(list(columns)).iter_rows(named=True):
        cells = []
        for name in columns:
            value = row[name]
            text = formats[name](value) if name in formats else ("—" if value is None else str(value))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Charts:
    """Plotly figures as HTML fragments; the first carries plotly.js inline, the rest reuse it."""

    def __init__(self):
        self.inlined = False

    def __call__(self, figure) -> str:
        figure.update_layout(margin={"l": 40, "r": 20, "t": 40, "b": 40}, height=380, template="plotly_white")
        fragment = figure.to_html(full_html=False, include_plotlyjs=not self.inlined, config={"displaylogo": False})
        self.inlined = True
        return fragment


def _budget_section(con, chart, model: str) -> tuple[str, dict]:
    """The reallocation's advice (same total, moved to where the next dollar earns most) with its
    expected improvement and interval, and the campaigns projected to overspend."""
    import plotly.graph_objects as go

    from analytics.core.errors import RevLensError
    from analytics.finance.budget import budget_consumption
    from analytics.finance.reallocation.plan import analysis_period, reallocate

    parts, figures = [], {}
    try:
        start, end = analysis_period(con)
        advice = reallocate(con, start, end, model=model)
    except RevLensError as exc:  # no costs, or too little history for curves: say so in the report
        parts.append(f"<p>No reallocation: {html.escape(str(exc))}</p>")
    else:
        table = advice.table()
        value, low, high = advice.improvement
        figures["reallocation"] = {
            "expected_improvement": value,
            "interval": [low, high],
            "current": advice.current_value,
            "optimized": advice.optimized_value,
        }
        figure = go.Figure()
        names = [label("channel", c) for c in table["channel"]]
        figure.add_bar(x=names, y=table["current_spend"].to_list(), name="Current")
        figure.add_bar(x=names, y=table["optimized_spend"].to_list(), name="Recommended")
        figure.update_layout(
            barmode="group", title=f"Spend per channel over the next {advice.plan_weeks} weeks", yaxis_title="USD"
        )
        parts.append(
            f"<p><b>Recommendation:</b> move the same {money(advice.total_budget)} to the split below; expected "
            f"{html.escape(advice.objective)} {money(advice.optimized_value)} instead of {money(advice.current_value)}, "
            f"<b>{money(value)}</b> more (interval {money(low)} to {money(high)}), from response curves fitted on "
            f"{start:%d %b %Y} – {end:%d %b %Y} with changes capped at 30% per channel.</p>"
        )
        parts.append(chart(figure))
        parts.append(
            _table(
                table.with_columns(table["channel"].map_elements(lambda c: label("channel", c), return_dtype=str)),
                {
                    "channel": "Channel",
                    "current_spend": "Current",
                    "optimized_spend": "Recommended",
                    "change_pct": "Change %",
                    "marginal_roi": "Marginal ROI",
                },
                {
                    "current_spend": money,
                    "optimized_spend": money,
                    "change_pct": lambda v: "—" if v is None else f"{v:+.1f}%",
                    "marginal_roi": lambda v: f"{v:.2f}",
                },
            )
        )
    budget = budget_consumption(con)
    over = budget.filter(budget["over_budget"]) if budget.height else budget
    figures.update(
        campaigns=budget.height,
        over_budget=over.height,
        projected_overspend=float((over["projected_spend"] - over["budget"]).sum()) if over.height else 0.0,
    )
    parts.append(
        f"<p>{budget.height:,} campaigns with a budget; <b>{over.height:,}</b> are projected to overspend by "
        f"{money(figures['projected_overspend'])} in total: hold or cut their spend before the period closes.</p>"
    )
    if over.height:
        parts.append(
            _table(
                over.sort("projected_spend", descending=True).head(15),
                {
                    "campaign_name": "Campaign",
                    "budget": "Budget",
                    "spent": "Spent",
                    "projected_spend": "Projected",
                    "run_out_date": "Runs out",
                },
                {"budget": money, "spent": money, "projected_spend": money},
            )
        )
    return "".join(parts), figures


def executive_report(con, engine, period: ReportPeriod, model: str = "linear", progress=None) -> tuple[str, dict]:
    """The report's HTML and its headline figures (module docstring); ``con`` read-only."""
    import plotly.graph_objects as go
    import polars as pl

    from analytics.attribution.engine import attribute
    from analytics.customers.config import BANDS, load_config
    from analytics.customers.health import health_scores
    from analytics.finance.report import financial_report
    from analytics.ops.store import utcnow
    from analytics.overview.kpis import kpis

    step = progress or (lambda message: None)
    chart = _Charts()
    sections: list[tuple[str, str, str]] = []  # id, title, body

    step("KPIs")
    values = kpis(con, period.start, period.end)
    cards = []
    for name, value in values.items():
        title, is_money = KPI_TITLES.get(name, (label("column", name), False))
        shown = money(value.current) if is_money else f"{value.current:,.0f}"
        change = value.delta_pct
        css = "" if change is None else ("up" if change >= 0 else "down")
        delta = "—" if change is None else f"{change:+.1f}% vs the period before"
        cards.append(
            f'<div class="kpi"><div class="muted">{html.escape(title)}</div>'
            f'<div class="value">{html.escape(shown)}</div><div class="{css}">{html.escape(delta)}</div></div>'
        )
    sections.append(("kpis", "KPIs", f'<div class="kpis">{"".join(cards)}</div>'))

    step("attribution")
    models = ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov"]
    credit = attribute(con, models, by="channel", close_from=period.start, close_to=period.end)
    figure = go.Figure()
    for name in models:
        part = credit.filter(pl.col("model") == name).sort("channel")
        figure.add_bar(
            x=[label("channel", c) for c in part["channel"]],
            y=part["attributed_revenue"].to_list(),
            name=label("model", name),
        )
    figure.update_layout(barmode="group", title="Attributed revenue by channel and model", yaxis_title="USD")
    linear = credit.filter(pl.col("model") == "linear").sort("attributed_revenue", descending=True)
    sections.append(
        (
            "attribution",
            "Attribution",
            chart(figure)
            + _table(
                linear.with_columns(
                    pl.col("channel").map_elements(lambda c: label("channel", c), return_dtype=pl.String)
                ),
                {
                    "channel": "Channel",
                    "attributed_conversions": "Won deals (linear)",
                    "attributed_revenue": "Revenue (linear)",
                },
                {"attributed_conversions": lambda v: f"{v:,.1f}", "attributed_revenue": money},
            ),
        )
    )

    step("ROI")
    report = financial_report(con, period.start, period.end, period.kind, model=model, n_boot=0)
    by_channel = report.by_channel.sort("roi_percentage", descending=True, nulls_last=True)
    roi_figure = go.Figure(
        go.Bar(
            x=[label("channel", c) for c in by_channel["channel"]],
            y=by_channel["roi_percentage"].to_list(),
            marker_color=["#15803d" if (v or 0) >= 0 else "#b91c1c" for v in by_channel["roi_percentage"]],
        )
    )
    roi_figure.update_layout(title=f"ROI % by channel ({label('model', model)} attribution)", yaxis_title="ROI %")
    totals = report.totals.filter(pl.col("period") == "current").to_dicts() if "period" in report.totals.columns else []
    total = totals[0] if totals else {}
    sections.append(
        (
            "roi",
            "ROI",
            f"<p>Investment {money(total.get('total_investment'))}, attributed revenue "
            f"{money(total.get('attributed_revenue'))}, ROI {percent(total.get('roi_percentage'))}.</p>"
            + chart(roi_figure)
            + _table(
                by_channel.with_columns(
                    pl.col("channel").map_elements(lambda c: label("channel", c), return_dtype=pl.String)
                ),
                {
                    "channel": "Channel",
                    "total_investment": "Investment",
                    "attributed_revenue": "Attributed revenue",
                    "roi_percentage": "ROI %",
                },
                {"total_investment": money, "attributed_revenue": money, "roi_percentage": percent},
            ),
        )
    )

    step("customer health")
    scores = health_scores(con, None, load_config(engine))
    counts = {band: int((scores["band"] == band).sum()) for band in BANDS}
    arr = (
        {band: float(scores.filter(pl.col("band") == band)["arr"].sum()) for band in BANDS}
        if "arr" in scores.columns
        else {}
    )
    health_figure = go.Figure(
        go.Pie(
            labels=[label("band", b) for b in BANDS],
            values=[counts[b] for b in BANDS],
            marker={"colors": ["#5cb85c", "#f0ad4e", "#d9534f"]},
            hole=0.45,
        )
    )
    health_figure.update_layout(title="Accounts by health band")
    rows_html = "".join(
        f"<tr><td>{html.escape(label('band', b))}</td><td>{counts[b]:,}</td><td>{html.escape(money(arr.get(b)))}</td></tr>"
        for b in BANDS
    )
    sections.append(
        (
            "health",
            "Customer health",
            chart(health_figure)
            + f"<table><thead><tr><th>Band</th><th>Accounts</th><th>ARR</th></tr></thead><tbody>{rows_html}</tbody></table>",
        )
    )

    step("budget")
    budget_html, budget_figures = _budget_section(con, chart, model)
    sections.append(("budget", "Budget recommendation", budget_html))

    generated = utcnow()
    nav = " · ".join(f'<a href="#{sid}">{html.escape(title)}</a>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{html.escape(title)}</h2>{content}</section>' for sid, title, content in sections
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>RevLens executive report · {html.escape(period.label)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Executive report · {html.escape(period.label)}</h1>"
        f"<p class='muted'>{period.start:%d %b %Y} – {period.end:%d %b %Y} · generated {generated:%Y-%m-%d %H:%M} UTC "
        f"by RevLens · {nav}</p>{body}</body></html>"
    )
    figures = {
        "period": period.label,
        "generated_at": generated,
        "sections": [title for _, title, _ in sections],
        "kpis": {k: v.current for k, v in values.items()},
        "roi": {k: total.get(k) for k in ("total_investment", "attributed_revenue", "roi_percentage")},
        "health_bands": counts,
        "budget": budget_figures,
    }
    return page, figures
