"""Writing while the app is open, end to end: Chromium on the Data page, a CLI import from another process.

The page never shows an error: not while it is open when the import starts, not while a writer
holds the warehouse (an "updating" notice instead, which goes by itself once the write commits),
and not after the reload that shows the new rows.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap

import duckdb
import pytest

from tests.e2e.browser import streamlit_server, wait_for_run
from tests.paths import FIXTURES, ROOT

pytestmark = pytest.mark.browser

ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
# records any error element the page shows at any moment (a rerun may draw and remove one in between checks)
WATCH_ERRORS = f"""() => {{
    window.__revlensErrors = window.__revlensErrors || [];
    const seen = () => document.querySelectorAll('{ERRORS}').forEach(e => window.__revlensErrors.push(e.innerText));
    seen();
    new MutationObserver(seen).observe(document.body, {{childList: true, subtree: true}});
}}"""
HOLDER = textwrap.dedent("""
    import sys
    from analytics.warehouse.connection import writing
    with writing(sys.argv[1], wait=60, purpose="an import of reps.csv"):
        print("writing", flush=True)
        sys.stdin.readline()
""")


def rows_caption(page) -> str:
    return page.get_by_text(re.compile(r"^[\d,]+ rows; the newest 50 below\.$")).inner_text()


def errors_seen(page) -> list[str]:
    return page.evaluate("() => window.__revlensErrors")


def test_a_cli_import_while_the_data_page_is_open(demo_db, tmp_path, page):
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, db)
    con = duckdb.connect(str(db), read_only=True)
    reps = con.execute("select count(*) from sales_reps").fetchall()[0][0]
    con.close()
    with streamlit_server(str(db), tmp_path) as url:
        page.goto(f"{url}/data")
        wait_for_run(page)
        page.evaluate(WATCH_ERRORS)
        assert rows_caption(page) == f"{reps:,} rows; the newest 50 below."  # sales_reps, the first table

        # another process imports while the page is open: it does not fail because the app has the file
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "analytics",
                "import",
                "sales-reps",
                str(FIXTURES / "sales_reps.csv"),
                "--db",
                str(db),
                "--wait",
                "60",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert "read 4 rows -> loaded 2" in done.stdout
        assert errors_seen(page) == []

        page.reload()
        wait_for_run(page)
        page.evaluate(WATCH_ERRORS)
        page.wait_for_function(
            "expected => [...document.querySelectorAll('[data-testid=stCaptionContainer]')]"
            ".some(e => e.innerText.trim() === expected)",
            arg=f"{reps + 2:,} rows; the newest 50 below.",
            timeout=60_000,
        )
        assert errors_seen(page) == []

        # a reload while a writer holds the warehouse: an "updating" notice, never an error...
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "writing"
            page.reload()
            wait_for_run(page)
            page.evaluate(WATCH_ERRORS)
            notice = page.locator('[data-testid="stAlertContentInfo"]', has_text="an import of reps.csv")
            notice.first.wait_for(timeout=60_000)
            assert rows_caption(page) == f"{reps + 2:,} rows; the newest 50 below."  # the data as it was
            # ...which goes by itself once the write has committed
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.wait(timeout=60) == 0
            notice.first.wait_for(state="detached", timeout=60_000)
            wait_for_run(page)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
        assert rows_caption(page) == f"{reps + 2:,} rows; the newest 50 below."
        assert errors_seen(page) == []
