"""Feedback: NPS by hand, sentences, language, the case-study rule, the taxonomy over learned themes, quality."""

from __future__ import annotations

import csv
from datetime import date, datetime

import duckdb
import polars as pl
import pytest

from analytics.core.errors import RevLensError
from analytics.customers import feedback as fb
from tests.paths import ROOT

LABELLED = ROOT / "tests" / "customers" / "sentiment_labels.csv"


def frame(rows: list[tuple]) -> pl.DataFrame:
    """Responses from (feedback_id, account_id, score, text, submitted_at, segment, plan, arr) tuples."""
    columns = ("feedback_id", "account_id", "score", "text", "submitted_at", "segment", "plan", "arr")
    data = {c: [r[i] if i < len(r) else None for r in rows] for i, c in enumerate(columns)}
    defaults = {"submitted_at": datetime(2026, 5, 3), "segment": "SMB", "plan": "Starter", "arr": 1000.0}
    for column, value in defaults.items():
        data[column] = [value if v is None else v for v in data[column]]
    return pl.DataFrame(
        {**data, "contact_id": [f"C{r[0]}" for r in rows]},
        schema={
            "feedback_id": pl.String,
            "account_id": pl.String,
            "score": pl.Int64,
            "text": pl.String,
            "submitted_at": pl.Datetime("us"),
            "segment": pl.String,
            "plan": pl.String,
            "arr": pl.Float64,
            "contact_id": pl.String,
        },
    )


def test_nps_on_a_hand_made_set():
    assert fb.nps([10, 9, 8, 7, 6, 0]) == 0.0  # 2 promoters, 2 detractors of 6
    assert fb.nps([10, 10, 9, 3]) == 50.0
    assert fb.nps([6, 6, 9]) == pytest.approx(-100 / 3)
    assert fb.nps([None, 9]) == 100.0 and fb.nps([]) is None
    responses = frame(
        [
            ("1", "A", 10, "Great product.", datetime(2026, 4, 2), "SMB", "Starter"),
            ("2", "A", 9, "", datetime(2026, 4, 9), "SMB", "Starter"),  # empty text still counts
            ("3", "B", 3, None, datetime(2026, 5, 1), "Enterprise", "Enterprise"),
            ("4", "B", 7, "Fine.", datetime(2026, 5, 2), "Enterprise", "Enterprise"),
            ("5", "C", 0, "El panel es muy lento y el soporte no responde nunca.", datetime(2026, 5, 3), "SMB"),
        ]
    )
    analysis = fb.analyze_frame(responses, taxonomy=())
    assert analysis.nps == pytest.approx(100 * (2 - 2) / 5)
    by_month = {r["month"]: (r["responses"], r["nps"]) for r in fb.nps_by(analysis, "month").iter_rows(named=True)}
    assert by_month == {"2026-04": (2, 100.0), "2026-05": (3, pytest.approx(-200 / 3))}
    by_segment = {r["segment"]: r["nps"] for r in fb.nps_by(analysis, "segment").iter_rows(named=True)}
    assert by_segment == {"Enterprise": -50.0, "SMB": pytest.approx(100 / 3)}
    by_plan = fb.nps_by(analysis, "plan")
    assert by_plan.filter(pl.col("plan") == "Starter")["promoters"][0] == 2
    with pytest.raises(RevLensError, match="month, segment or plan"):
        fb.nps_by(analysis, "region")


def test_non_english_text_is_flagged_not_scored_neutral():
    analysis = fb.analyze_frame(
        frame(
            [
                ("1", "A", 2, "El panel es muy lento y el soporte no responde nunca."),
                ("2", "A", 9, "Die Berichte sind hervorragend, aber der Export ist sehr langsam."),
                ("3", "A", 9, "The reports are great."),
                ("4", "A", 9, "Ok"),
            ]
        ),
        taxonomy=(),
    )
    by_id = {r["feedback_id"]: r for r in analysis.responses.iter_rows(named=True)}
    assert (by_id["1"]["non_english"], by_id["1"]["language"], by_id["1"]["sentiment"]) == (True, "es", None)
    assert by_id["2"]["non_english"] and by_id["2"]["sentiment_label"] is None
    assert not by_id["3"]["non_english"] and by_id["3"]["sentiment_label"] == "positive"
    assert not by_id["4"]["non_english"]  # too short to judge: English
    assert set(analysis.units["feedback_id"]) == {"3", "4"}


def test_a_mixed_comment_is_scored_per_sentence():
    text = "The dashboard is great, but exports are painfully slow. We would love a mobile app!"
    parts = fb.sentences(text)
    assert parts == ["The dashboard is great", "but exports are painfully slow.", "We would love a mobile app!"]
    analysis = fb.analyze_frame(frame([("1", "A", 7, text)]), taxonomy=())
    kinds = analysis.units.sort("position")["kind"].to_list()
    assert kinds == ["value_driver", "pain_point", "feature_request"]
    assert analysis.responses["mixed"][0]
    assert fb.extracted(analysis, "pain_point")["text"].to_list() == ["but exports are painfully slow."]


def test_case_study_rule_is_the_spec_s(demo_db):
    responses = frame(
        [
            ("yes8", "A", 8, "We love it, the dashboards are excellent."),
            ("no7", "A", 7, "We love it, the dashboards are excellent."),  # score below 8
            ("no_negative", "A", 10, "The exports are terrible and support is awful."),  # not positive
            ("no_neutral", "A", 9, "We use it every Monday for the pipeline review."),  # neutral
            ("yes_mixed", "A", 9, "The exports are slow, but the dashboards are wonderful and support is great."),
            ("no_empty", "A", 10, ""),
        ]
    )
    analysis = fb.analyze_frame(responses, taxonomy=())
    con = duckdb.connect(demo_db, read_only=True)
    cases = fb.case_studies(con, analysis)
    con.close()
    assert sorted(cases["feedback_id"]) == ["yes8", "yes_mixed"]
    quote = cases.filter(pl.col("feedback_id") == "yes_mixed")["quote"][0]
    assert quote == "but the dashboards are wonderful and support is great."  # its most positive sentence
    assert {"arr", "health_score", "referrals", "reviews", "case_studies", "last_advocacy_on"} <= set(cases.columns)


def texts_with_two_topics() -> pl.DataFrame:
    rows = []
    invoices = ["The invoice was wrong again.", "Our invoice arrived late.", "The invoice total is confusing."]
    charts = ["The chart colours are lovely.", "The chart export is handy.", "The chart legend helps a lot."]
    for i in range(30):
        rows.append((f"i{i}", f"A{i}", 5, invoices[i % 3]))
        rows.append((f"c{i}", f"B{i}", 9, charts[i % 3]))
    rows.append(("mix", "Z", 8, "The chart shows every invoice we sent."))
    return frame(rows)


def test_taxonomy_names_merges_and_pins_learned_themes():
    responses = texts_with_two_topics()
    learned = fb.analyze_frame(responses, taxonomy=(), components=3)
    assert not any(t["from_taxonomy"] for t in learned.learned)
    names = set(learned.themes["theme"])
    assert "Billing" not in names and "Charts" not in names  # named by their terms
    taxonomy = fb.parse_taxonomy("Charts: chart, legend\npin Billing: invoice\n")
    named = fb.analyze_frame(responses, taxonomy=taxonomy, components=3)
    assert set(named.themes["theme"]) == {"Billing", "Charts"}  # three components merge into two names
    by_id = {r["feedback_id"]: r["themes"] for r in named.responses.iter_rows(named=True)}
    assert by_id["i0"] == ["Billing"] and by_id["c0"] == ["Charts"]
    assert by_id["mix"] == ["Billing"]  # pinned: the keyword wins over whatever NMF learned
    assert named.themes.filter(pl.col("theme") == "Billing")["pinned"][0]


def test_a_malformed_taxonomy_names_the_line(tmp_path):
    with pytest.raises(RevLensError, match="line 3: 'just words' is not a theme"):
        fb.parse_taxonomy("# themes\nCharts: chart\njust words\n")
    with pytest.raises(RevLensError, match="line 2: theme 'charts' is already defined on line 1"):
        fb.parse_taxonomy("Charts: chart\ncharts: legend\n")
    with pytest.raises(RevLensError, match="line 2: keyword 'chart' already belongs to 'Charts' \\(line 1\\)"):
        fb.parse_taxonomy("Charts: chart\nGraphs: chart, plot\n")
    with pytest.raises(RevLensError, match="line 1: theme 'Empty' has no keywords"):
        fb.parse_taxonomy("Empty:\n")
    path = tmp_path / "taxonomy.txt"
    path.write_text("Charts: chart\nnonsense\n", encoding="utf-8")
    with pytest.raises(RevLensError, match=f"{path} line 2"):
        fb.read_taxonomy(path)
    assert fb.read_taxonomy(tmp_path / "absent.txt") == ()
    assert {t.name for t in fb.read_taxonomy(ROOT / "data" / "feedback_taxonomy.txt")} >= {"Exports", "Support"}


def test_theme_impact_and_rising_themes_by_hand():
    rows = [
        ("1", "A", 10, "The invoice is great.", datetime(2026, 4, 2)),
        ("2", "B", 2, "Support is awful.", datetime(2026, 4, 3)),
        ("3", "C", 9, "Support is wonderful.", datetime(2026, 5, 3)),
        ("4", "D", 0, "Support is terrible.", datetime(2026, 5, 4)),
    ]
    responses = frame(rows).with_columns(pl.Series("arr", [100.0, 300.0, 100.0, 500.0]))
    taxonomy = fb.parse_taxonomy("pin Support: support\npin Billing: invoice\n")
    analysis = fb.analyze_frame(responses, taxonomy=taxonomy, rise_points=10)
    support = analysis.themes.filter(pl.col("theme") == "Support").row(0, named=True)
    # all: 2 promoters, 2 detractors of 4 → 0; without Support: only response 1 → 100; impact −100
    assert support["nps_impact"] == -100.0 and support["responses"] == 3
    # ARR-weighted: all (100 − 300 + 100 − 500) / 1000 = −60; without Support: 100; impact −160
    assert support["arr_weighted_impact"] == pytest.approx(-160.0)
    assert support["arr"] == 900.0 and support["pain_points"] == 2 and support["value_drivers"] == 1
    shares = analysis.monthly_themes.filter(pl.col("theme") == "Support").sort("month")
    assert shares["share_pct"].to_list() == [50.0, 100.0] and shares["change_points"][1] == 50.0
    assert fb.rising_themes(analysis)["theme"].to_list() == ["Support"]
    assert fb.theme_accounts(analysis, "Support", "pain_point") == ["B", "D"]


def test_feedback_signal_and_health_input_off_by_default():
    rows = [
        ("1", "A", 4, "Support is awful.", datetime(2026, 1, 10)),
        ("2", "A", 9, "Support is wonderful.", datetime(2026, 5, 20)),
        ("3", "B", 6, "Fine.", datetime(2026, 7, 1)),  # after the date: not known yet
    ]
    analysis = fb.analyze_frame(frame(rows), taxonomy=())
    signal = fb.feedback_signal(analysis, date(2026, 6, 1))
    a = signal.row(0, named=True)
    assert signal.height == 1 and (a["latest_score"], a["feedback_signal"]) == (9, 0.9)
    assert (
        a["sentiment_trend"] == pytest.approx(a["sentiment_recent"] - a["sentiment_before"])
        and a["sentiment_trend"] > 0
    )
    health = pl.DataFrame(
        {
            "account_id": ["A", "B"],
            "usage_frequency": [0.5, 0.2],
            "feature_adoption": [1.0, None],
            "engagement_trend": [0.5, 0.5],
            "support_health": [1.0, 1.0],
            "payment_stability": [1.0, 1.0],
            "marketing_engagement": [0.0, 0.0],
            "coverage": [1.0, 0.8],
            "overall_score": [72.5, 52.5],
        }
    )
    off = fb.health_with_feedback(health, signal)
    assert off["score_with_feedback"].to_list() == off["overall_score"].to_list()
    on = fb.health_with_feedback(health, signal, weight=0.25)
    # A: (0.25·0.5 + 0.2·1 + 0.15·0.5 + 0.15 + 0.15 + 0 + 0.25·0.9) / 1.25 = 0.74 → 74.0; B has no signal
    assert on["score_with_feedback"].to_list() == [74.0, 52.5]
    with pytest.raises(RevLensError, match="feedback weight"):
        fb.health_with_feedback(health, signal, weight=1.0)


def test_sentiment_accuracy_on_hand_labelled_sentences():
    with LABELLED.open(encoding="utf-8") as handle:
        labelled = list(csv.DictReader(handle))
    assert len(labelled) == 40
    analyzer = fb._analyzer()
    hits = sum(
        fb.sentiment_label(analyzer.polarity_scores(row["sentence"])["compound"]) == row["label"] for row in labelled
    )
    accuracy = hits / len(labelled)
    print(f"sentiment accuracy on {len(labelled)} hand-labelled sentences: {accuracy:.1%}")
    assert accuracy >= 0.8


def test_demo_sentiment_follows_score_and_exports_rise(medium_demo):
    con = duckdb.connect(medium_demo, read_only=True)
    analysis = fb.analyze_feedback(con)
    con.close()
    quality = fb.sentiment_quality(analysis)
    print(f"Spearman between sentiment and score on the demo: {quality['spearman']:.3f} ({quality['responses']:,})")
    assert quality["spearman"] > 0.5
    assert "Exports" in fb.rising_themes(analysis, "2026-10")["theme"].to_list()
    assert analysis.responses["non_english"].sum() > 0
    assert analysis.responses.filter(pl.col("text").is_null() | (pl.col("text") == "")).height > 0
    assert analysis.nps == pytest.approx(fb.nps(analysis.responses["score"].to_list()))


def test_messaging_hints_per_segment_by_hand():
    rows = [
        ("1", "A", 10, "Support is wonderful.", datetime(2026, 5, 1), "SMB"),
        ("2", "B", 9, "Support is wonderful.", datetime(2026, 5, 2), "SMB"),
        ("3", "C", 2, "The invoice is awful.", datetime(2026, 5, 3), "SMB"),
        ("4", "D", 1, "Support is terrible.", datetime(2026, 5, 4), "Enterprise"),
    ]
    taxonomy = fb.parse_taxonomy("pin Support: support\npin Billing: invoice\n")
    hints = fb.messaging_hints(fb.analyze_frame(frame(rows), taxonomy=taxonomy))
    got = {(r["segment"], r["kind"], r["theme"]): (r["mentions"], r["example"]) for r in hints.iter_rows(named=True)}
    assert got == {
        ("SMB", "value_driver", "Support"): (2, "Support is wonderful."),
        ("SMB", "pain_point", "Billing"): (1, "The invoice is awful."),
        ("Enterprise", "pain_point", "Support"): (1, "Support is terrible."),
    }
    assert fb.messaging_hints(fb.analyze_frame(frame(rows), taxonomy=taxonomy), top=1).height == 3
