"""``python -m analytics feedback``: NPS, themes, case studies, pain points and feature requests as JSON.

Everything runs offline (VADER's lexicon, scikit-learn's TF-IDF and NMF); the themes are named, merged
and pinned by the taxonomy file (``data/feedback_taxonomy.txt`` or ``REVLENS_FEEDBACK_TAXONOMY``).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from analytics.cli.common import DB_OPTION_HELP, command_app, parse_date

app = command_app()


class JsonFormat(str, Enum):
    json = "json"


def report(con, start=None, end=None, taxonomy=None, rise_points=None) -> dict:
    """The CLI's JSON: nps (−100 … 100), nps_by (month, segment, plan), themes, case_studies (feedback_id,
    account_id, score, sentiment, quote), pain_points, feature_requests."""
    from analytics.customers import feedback as fb

    rise = fb.DEFAULT_RISE_POINTS if rise_points is None else rise_points
    analysis = fb.analyze_feedback(con, start, end, taxonomy=taxonomy, rise_points=rise)
    cases = fb.case_studies(con, analysis)
    rounded = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
    return {
        "nps": rounded(analysis.nps),
        "nps_by": {
            by: [
                {by: r[by], "responses": r["responses"], "nps": rounded(r["nps"])}
                for r in fb.nps_by(analysis, by).iter_rows(named=True)
            ]
            for by in ("month", "segment", "plan")
        },
        "themes": [
            {
                "theme": r["theme"],
                "responses": r["responses"],
                "share": rounded(r["share"]),
                "sentiment": rounded(r["sentiment"]),
                "nps_impact": rounded(r["nps_impact"]),
                "arr_weighted_impact": rounded(r["arr_weighted_impact"]),
                "arr": rounded(r["arr"]),
                "pinned": r["pinned"],
                "rising": r["theme"] in set(fb.rising_themes(analysis)["theme"].to_list()),
            }
            for r in analysis.themes.iter_rows(named=True)
        ],
        "case_studies": [
            {
                "feedback_id": r["feedback_id"],
                "account_id": r["account_id"],
                "score": r["score"],
                "sentiment": rounded(r["sentiment"]),
                "quote": r["quote"],
            }
            for r in cases.iter_rows(named=True)
        ],
        "pain_points": [
            {"text": r["text"], "theme": r["theme"], "mentions": r["mentions"], "accounts": r["accounts"]}
            for r in fb.extracted(analysis, "pain_point").iter_rows(named=True)
        ],
        "feature_requests": [
            {"text": r["text"], "theme": r["theme"], "mentions": r["mentions"], "accounts": r["accounts"]}
            for r in fb.extracted(analysis, "feature_request").iter_rows(named=True)
        ],
    }


@app.command()
def feedback(
    db: Annotated[Path | None, typer.Option(help=DB_OPTION_HELP)] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day of responses (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day of responses (YYYY-MM-DD).")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy file (default: data/feedback_taxonomy.txt).")] = None,
    rise_points: Annotated[
        float | None, typer.Option(help="Flag a theme as rising when its monthly share is up by this many points (10).")
    ] = None,
    fmt: Annotated[JsonFormat, typer.Option("--format", help="json.")] = JsonFormat.json,
) -> None:
    """NPS overall and by month, segment and plan; themes with impact; case studies; pain points; requests."""
    from analytics.core.settings import db_path
    from analytics.customers.feedback import read_taxonomy
    from analytics.warehouse.connection import connect

    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    if rise_points is not None and not 0 < rise_points <= 100:
        from analytics.core.errors import RevLensError

        raise RevLensError(f"--rise-points is {rise_points:g}; give percentage points above 0 and up to 100, e.g. 10.")
    themes = read_taxonomy(taxonomy) if taxonomy is not None else None
    if taxonomy is not None and not taxonomy.is_file():
        from analytics.core.errors import RevLensError

        raise RevLensError(f"--taxonomy {taxonomy} does not exist; give the path of a taxonomy file.")
    con = connect(db or db_path(), read_only=True)
    try:
        out = report(con, first, last, themes, rise_points)
    finally:
        con.close()
    sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
