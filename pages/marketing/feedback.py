"""Marketing → Feedback: NPS, themes with their impact, pain points and requests, case studies, the responses
sentence by sentence, and campaigns by theme; everything computed offline."""

import re
from dataclasses import replace

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics.core.errors import RevLensError
from analytics.core.labels import label, relabel_columns
from analytics.core.money import money
from analytics.core.numbers import DASH
from analytics.core.settings import feedback_taxonomy_path
from analytics.customers import feedback as fb
from analytics.customers import health
from analytics.customers.config import load_config
from analytics.customers.interventions import account_contacts, campaign_targets
from analytics.ops.store import ops_engine
from pages.components.actions import action_button, preview_only_banner, queued_notice
from pages.components.cache import cached
from pages.components.downloads import download_csv
from pages.components.filters import filters

SENTIMENT_LABELS = {name: label("sentiment", name) for name in ("positive", "neutral", "negative")}
BAND_LABELS = {name: label("band", name) for name in ("healthy", "at_risk", "critical")}

MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|:$~<>]")
SENTIMENT_COLOURS = {"positive": "green", "negative": "red", "neutral": "gray"}


def load_taxonomy():
    path = feedback_taxonomy_path()
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    return str(path), mtime


f = filters()
st.title("Customer Feedback")
taxonomy_path, taxonomy_mtime = load_taxonomy()
try:
    taxonomy = fb.read_taxonomy(taxonomy_path)
except RevLensError as exc:
    st.error(f"{exc} The themes are learned without it until it is fixed.", icon=":material/error:")
    taxonomy = ()
with st.spinner("Scoring every sentence and learning the themes…"):
    analysis = cached(fb.analyze_feedback, start=f.start, end=f.end, taxonomy=taxonomy)
responses, units = analysis.responses, analysis.units
if f.segments:
    responses = responses.filter(pl.col("segment").is_in(list(f.segments)))
    units = units.filter(pl.col("feedback_id").is_in(responses["feedback_id"].to_list()))
if f.channels:
    st.caption(":material/info: The channel filter does not apply here: feedback is per account, across channels.")
if responses.is_empty():
    st.info("No feedback in the date range; widen it or load feedback on Operations → Import.", icon=":material/info:")
    st.stop()
view = (
    fb.FeedbackAnalysis(responses, units, fb.theme_table(responses, units), analysis.monthly_themes, analysis.learned)
    if f.segments
    else analysis
)
st.caption(
    f"{f.start:%d %b %Y} – {f.end:%d %b %Y}"
    + (f" · segments: {', '.join(f.segments)}" if f.segments else "")
    + f" · taxonomy: {taxonomy_path}"
    + (" (not found: themes named by their terms)" if not taxonomy else "")
)

quality = fb.sentiment_quality(view)
scored = responses.filter(pl.col("score").is_not_null())
k = st.columns(5)
k[0].metric("NPS", DASH if view.nps is None else f"{view.nps:+.0f}", border=True, help="% promoters − % detractors")
k[1].metric("Responses", f"{responses.height:,}", f"{scored.height:,} with a score", delta_color="off", border=True)
k[2].metric(
    "Promoters / detractors",
    f"{(scored['score'] >= 9).mean():.0%} / {(scored['score'] <= 6).mean():.0%}" if scored.height else DASH,
    border=True,
)
k[3].metric(
    "Sentiment vs score",
    DASH if quality["spearman"] is None else f"ρ {quality['spearman']:.2f}",
    border=True,
    help="Spearman correlation between each response's sentiment and its score: how far the text agrees",
)
k[4].metric(
    "Not in English",
    f"{int(responses['non_english'].sum()):,}",
    border=True,
    help="Flagged, not scored: a lexicon in English would call them neutral",
)

# ---- NPS
st.subheader("NPS")
monthly = fb.nps_by(view, "month")
trend = go.Figure(
    [
        go.Bar(
            x=monthly["month"].to_list(),
            y=monthly["responses"].to_list(),
            name="Responses",
            yaxis="y2",
            marker={"color": "#ccc"},
        ),
        go.Scatter(x=monthly["month"].to_list(), y=monthly["nps"].to_list(), name="NPS", mode="lines+markers"),
    ],
    layout={
        "height": 280,
        "margin": {"t": 10, "b": 10},
        "legend": {"orientation": "h", "y": 1.15},
        "yaxis": {"title": {"text": "NPS"}, "range": [-100, 100]},
        "yaxis2": {"title": {"text": "Responses"}, "overlaying": "y", "side": "right", "rangemode": "tozero"},
    },
)
st.plotly_chart(trend, width="stretch", key="feedback_nps_chart")
n1, n2 = st.columns(2)
for column, by in ((n1, "segment"), (n2, "plan")):
    column.dataframe(
        fb.nps_by(view, by),
        hide_index=True,
        width="stretch",
        key=f"feedback_nps_{by}",
        column_config={by: by.capitalize(), "nps": st.column_config.NumberColumn("NPS", format="%+.1f")},
        placeholder=DASH,
    )

# ---- themes
st.subheader("Themes and their impact on NPS")
rise_points = st.number_input(
    "Flag a theme as rising when its share of the month's responses is up by (points)",
    1.0,
    100.0,
    fb.DEFAULT_RISE_POINTS,
    1.0,
    key="feedback_rise_points",
    help="Month over month: the latest month's share minus the month before's, in percentage points",
)
rising = fb.rising_themes(replace(analysis, monthly_themes=fb.monthly_theme_shares(analysis.responses, rise_points)))
for r in rising.iter_rows(named=True):
    st.warning(
        f"**{r['theme']}** is rising: {r['share_pct']:.0f}% of {r['month']}'s responses, "
        f"{r['change_points']:+.0f} points on the month before.",
        icon=":material/trending_up:",
    )
themes = view.themes
impact = go.Figure(
    go.Bar(
        y=themes["theme"].to_list(),
        x=themes["arr_weighted_impact"].to_list(),
        orientation="h",
        marker={"color": ["#d9534f" if (v or 0) < 0 else "#5cb85c" for v in themes["arr_weighted_impact"]]},
        hovertext=[
            f"{r['responses']:,} responses · NPS impact {r['nps_impact']:+.1f} · ARR-weighted {r['arr_weighted_impact']:+.1f}"
            if r["nps_impact"] is not None
            else ""
            for r in themes.iter_rows(named=True)
        ],
    )
)
impact.update_layout(
    height=max(220, 34 * themes.height + 60),
    margin={"t": 10, "b": 10},
    xaxis={"title": {"text": "NPS points (ARR-weighted): all responses minus those without the theme"}},
    yaxis={"autorange": "reversed"},
)
st.plotly_chart(impact, width="stretch", key="feedback_impact_chart")
st.dataframe(
    themes,
    hide_index=True,
    width="stretch",
    key="feedback_themes",
    column_config={
        "theme": "Theme",
        "responses": "Responses",
        "share": st.column_config.NumberColumn("Share", format="percent"),
        "sentiment": st.column_config.NumberColumn("Sentiment", format="%+.2f"),
        "value_drivers": "Value drivers",
        "pain_points": "Pain points",
        "feature_requests": "Requests",
        "nps_with": st.column_config.NumberColumn("NPS of these", format="%+.1f"),
        "nps_impact": st.column_config.NumberColumn("NPS impact", format="%+.1f"),
        "arr_weighted_impact": st.column_config.NumberColumn("ARR-weighted impact", format="%+.1f"),
        "arr": st.column_config.NumberColumn("ARR raising it", format="dollar"),
        "pinned": st.column_config.CheckboxColumn("Pinned"),
    },
    placeholder=DASH,
)
with st.expander("What NMF learned, and how the taxonomy named it"):
    st.dataframe(
        pl.DataFrame(
            [
                {"theme": c["theme"], "from_taxonomy": c["from_taxonomy"], "top_terms": ", ".join(c["top_terms"])}
                for c in analysis.learned
            ],
            schema={"theme": pl.String, "from_taxonomy": pl.Boolean, "top_terms": pl.String},
        ),
        hide_index=True,
        width="stretch",
        key="feedback_learned",
        placeholder=DASH,
    )
    st.caption(f"Edit {taxonomy_path} to name, merge and pin themes (grammar in docs/feedback.md).")

# ---- pains and requests, messaging hints
st.subheader("Pain points, feature requests and messaging")
p1, p2 = st.columns(2)
for column, kind in ((p1, "pain_point"), (p2, "feature_request")):
    with column:
        st.markdown(f"**{label('feedback_kind', kind)}s**")
        table = fb.extracted(view, kind)
        st.dataframe(
            table.select("text", "theme", "mentions", "accounts", "arr"),
            hide_index=True,
            width="stretch",
            height=240,
            key=f"feedback_{kind}",
            column_config={
                "text": "Sentence",
                "theme": "Theme",
                "mentions": "Mentions",
                "accounts": "Accounts",
                "arr": st.column_config.NumberColumn("ARR", format="dollar"),
            },
            placeholder=DASH,
        )
        download_csv(table.rename(relabel_columns(table.columns)), f"revlens_{kind}s.csv", key=f"feedback_{kind}_csv")
hints = fb.messaging_hints(view)
st.markdown("**Messaging hints by segment** (the top value drivers to lead with, the pains to answer)")
st.dataframe(
    hints.with_columns(pl.col("kind").replace_strict({k_: label("feedback_kind", k_) for k_ in fb.KINDS})),
    hide_index=True,
    width="stretch",
    key="feedback_hints",
    column_config={"segment": "Segment", "kind": "", "theme": "Theme", "mentions": "Mentions", "example": "Example"},
    placeholder=DASH,
)

# ---- case studies
st.subheader("Case-study finder")
span = cached(health.data_range)
health_scores = cached(health.health_scores, as_of=span[1], config=load_config(ops_engine())) if span else None
cases = cached(fb.case_studies, analysis=view, health=health_scores)
st.caption("Responses with positive sentiment and a score of 8 or more (the spec's rule), with the account's advocacy.")
st.dataframe(
    cases.select(
        "account_name",
        "score",
        "sentiment",
        "quote",
        "arr",
        "health_score",
        pl.col("health_band").replace_strict(BAND_LABELS, default=pl.col("health_band")),
        "referrals",
        "reviews",
        "case_studies",
        "last_advocacy_on",
        "submitted_at",
        "feedback_id",
    ),
    hide_index=True,
    width="stretch",
    height=280,
    key="feedback_cases",
    column_config={
        "account_name": "Account",
        "score": "Score",
        "sentiment": st.column_config.NumberColumn("Sentiment", format="%+.2f"),
        "quote": "Quote",
        "arr": st.column_config.NumberColumn("ARR", format="dollar"),
        "health_score": st.column_config.NumberColumn("Health", format="%.0f"),
        "health_band": "Band",
        "last_advocacy_on": st.column_config.DateColumn("Last advocacy"),
        "submitted_at": st.column_config.DatetimeColumn("Answered", format="D MMM YYYY"),
        "feedback_id": "Response ID",
    },
    placeholder=DASH,
)
preview_only_banner()
queued_notice()
c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
case_list = c1.text_input("HubSpot list id", key="feedback_case_list", placeholder="e.g. 123").strip()
with c2:
    action_button(
        "Add the case-study contacts to the list…",
        "add_to_list",
        lambda: cached(
            fb.contact_targets, contact_ids=cases["contact_id"].drop_nulls().unique().to_list(), kind="add_to_list"
        ),
        {"list_id": case_list},
        title=f"{cases.height:,} case-study contacts to HubSpot list {case_list}",
        key="feedback_case_push",
        disabled=not case_list or cases.is_empty(),
        icon=":material/playlist_add:",
    )

# ---- campaigns by theme
st.subheader("Campaign by theme")
theme_names = themes["theme"].to_list()
t1, t2, t3, t4 = st.columns([2, 2, 2, 3], vertical_alignment="bottom")
theme = t1.selectbox("Theme", theme_names or ["(none)"], key="feedback_campaign_theme", disabled=not theme_names)
as_kind = t2.selectbox(
    "Raised as",
    ["any", *fb.KINDS],
    format_func=lambda k_: "Anything" if k_ == "any" else label("feedback_kind", k_),
    key="feedback_campaign_kind",
)
campaign_kind = t3.selectbox(
    "Campaign", ["add_to_list", "enroll_workflow"], format_func=lambda k_: label("kind", k_), key="feedback_campaign"
)
target_id = t4.text_input(
    "HubSpot list id" if campaign_kind == "add_to_list" else "HubSpot workflow id", key="feedback_campaign_target"
).strip()
theme_ids = fb.theme_accounts(view, theme, None if as_kind == "any" else as_kind) if theme_names else []
st.caption(
    f"{len(theme_ids):,} accounts raised it; the campaign reaches their contacts (100 or more, at most 3 a week)."
)
action_button(
    "Start the campaign…",
    campaign_kind,
    lambda: campaign_targets(cached(account_contacts, account_ids=theme_ids), campaign_kind),
    {"list_id" if campaign_kind == "add_to_list" else "workflow_id": target_id},
    title=f"Campaign on {theme} for the contacts of {len(theme_ids):,} accounts",
    key="feedback_campaign_push",
    disabled=not target_id or not theme_ids,
    icon=":material/campaign:",
)

# ---- responses, sentence by sentence
st.subheader("Responses")
r1, r2, r3 = st.columns(3)
pick_theme = r1.selectbox("Theme", ["(any)", *theme_names], key="feedback_explore_theme")
pick_sentiment = r2.selectbox(
    "Sentiment",
    ["(any)", "positive", "neutral", "negative", "not_english", "no_text"],
    format_func=lambda v: {"(any)": "(any)", "not_english": "Not in English", "no_text": "No text"}.get(
        v, label("sentiment", v)
    ),
    key="feedback_explore_sentiment",
)
search = r3.text_input("Text contains", key="feedback_explore_search").strip()
explored = responses
if pick_theme != "(any)":
    explored = explored.filter(pl.col("themes").list.contains(pick_theme))
if pick_sentiment == "not_english":
    explored = explored.filter(pl.col("non_english"))
elif pick_sentiment == "no_text":
    explored = explored.filter(pl.col("text").is_null() | (pl.col("text").str.strip_chars() == ""))
elif pick_sentiment != "(any)":
    explored = explored.filter(pl.col("sentiment_label") == pick_sentiment)
if search:
    explored = explored.filter(pl.col("text").str.contains(search, literal=True))
explored = explored.sort("submitted_at", descending=True)
event = st.dataframe(
    explored.select(
        "submitted_at",
        "account_name",
        "score",
        pl.col("sentiment_label").replace_strict(SENTIMENT_LABELS, default=pl.col("sentiment_label")),
        "language",
        "text",
        "feedback_id",
    ),
    hide_index=True,
    width="stretch",
    height=260,
    on_select="rerun",
    selection_mode="single-row",
    key="feedback_responses",
    column_config={
        "submitted_at": st.column_config.DatetimeColumn("Answered", format="D MMM YYYY"),
        "account_name": "Account",
        "score": "Score",
        "sentiment_label": "Sentiment",
        "language": "Language",
        "text": "Text",
        "feedback_id": "Response ID",
    },
    placeholder=DASH,
)
st.caption(f"{explored.height:,} of {responses.height:,} responses · click one to read it sentence by sentence")
download_csv(
    explored.drop("themes").rename(relabel_columns(explored.drop("themes").columns)),
    "revlens_feedback.csv",
    key="feedback_csv",
)
picked = event.selection.rows if event is not None else []
if picked:
    chosen = explored.row(picked[0], named=True)
    parts = units.filter(pl.col("feedback_id") == chosen["feedback_id"]).sort("position")
    if chosen["non_english"]:
        st.info(f"In another language ({chosen['language']}): flagged, not scored.", icon=":material/translate:")
    elif parts.is_empty():
        st.info("No text: the score counts toward NPS.", icon=":material/info:")
    else:
        marked = []
        for unit in parts.iter_rows(named=True):
            colour = SENTIMENT_COLOURS[fb.sentiment_label(unit["compound"])]
            text = MARKDOWN_SPECIAL.sub(r"\\\g<0>", unit["text"])
            note = label("feedback_kind", unit["kind"]) if unit["kind"] else "no signal"
            marked.append(f":{colour}-background[{text}] *({unit['compound']:+.2f}, {note}, {unit['theme'] or DASH})*")
        st.markdown(" ".join(marked))

# ---- feedback as a health input (optional, off)
with st.expander("Feedback in the health score (optional, off by default)"):
    weight = st.slider("Weight of the latest score (0 = off)", 0.0, 0.5, 0.0, 0.05, key="feedback_health_weight")
    if not weight:
        st.caption(
            "Off: health's scores are as the Health page shows them. Move the slider to preview the score with the "
            "latest NPS score (0–10, as 0–1) as one more input, the weights renormalized."
        )
    elif span and health_scores is not None:
        signal = fb.feedback_signal(analysis, span[1])
        blended = fb.health_with_feedback(health_scores, signal, weight, load_config(ops_engine()))
        config = load_config(ops_engine())
        moved = blended.with_columns(health.band_of(pl.col("score_with_feedback"), config).alias("band_with_feedback"))
        changed = moved.filter(pl.col("band") != pl.col("band_with_feedback"))
        st.caption(
            "Health's numbers stay as they are: this previews the score with the latest NPS score (0–10, as 0–1) "
            f"as one more input, the weights renormalized. {changed.height:,} accounts would change band "
            f"({money(changed['arr'].sum())} of ARR)."
        )
        st.dataframe(
            moved.join(signal.drop("feedback_signal"), on="account_id", how="left").select(
                "account_name",
                "overall_score",
                "score_with_feedback",
                pl.col("band").replace_strict(BAND_LABELS, default=pl.col("band")),
                pl.col("band_with_feedback").replace_strict(BAND_LABELS, default=pl.col("band_with_feedback")),
                "latest_score",
                "latest_on",
                "sentiment_trend",
            ),
            hide_index=True,
            width="stretch",
            height=240,
            key="feedback_health_table",
            placeholder=DASH,
            column_config={
                "account_name": "Account",
                "overall_score": st.column_config.NumberColumn("Health score", format="%.2f"),
                "score_with_feedback": st.column_config.NumberColumn("With feedback", format="%.2f"),
                "band": "Band",
                "band_with_feedback": "Band with feedback",
                "latest_score": "Latest NPS",
                "latest_on": st.column_config.DateColumn("NPS on"),
                "sentiment_trend": st.column_config.NumberColumn("Sentiment trend", format="%+.2f"),
            },
        )
