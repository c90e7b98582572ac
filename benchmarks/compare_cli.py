"""Same CLI output before and after a change: every README example of ``attribution``, ``roi`` and
``budget`` (and a few variants), run with two checkouts on one warehouse, compared byte for byte.

    python benchmarks/compare_cli.py --before /work/main --db /tmp/attr_demo.duckdb

``--before`` is the other checkout (run with its own code: ``cd BEFORE; python -m analytics ...``);
this checkout is "after". Standard output must be identical (ROI figures vary in their last digit
from run to run, before and after, so up to six runs of each are compared); an Excel workbook is compared cell
by cell (its file carries a creation time). The path file of the ``--paths`` example is written
once from the warehouse (the same input for both). Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RETRIES = 6

# README examples first, then variants over the other options
COMMANDS = [
    "attribution --db {db} --model all",
    "attribution --db {db} --model linear,markov --by campaign --format csv",
    "attribution --paths {paths} --model first_touch,last_touch,linear,markov --format json",
    "roi --db {db} --period 2026-Q3 --model linear --by campaign --format csv",
    "roi --db {db} --period 2026-09 --format xlsx --out {out}/roi.xlsx",
    "budget --db {db} --over-only",
    # variants
    "attribution --model linear --by channel --format json --db {db}",
    "attribution --db {db} --model all --format csv",
    "attribution --db {db} --model all --by touchpoint_type --format json --lookback-days 30",
    "attribution --db {db} --model all --by campaign --format json --order 2 --half-life-days 3",
    "attribution --db {db} --model shapley,markov,w_shaped --by campaign --format csv --order 3",
    "attribution --paths {paths} --model all --format csv",
    "roi --db {db} --period 2026-Q2 --model markov --by channel --format json",
    "roi --db {db} --from 2026-01-01 --to 2026-06-30 --model shapley --by campaign --format json --n-boot 20",
    "roi --db {db} --period 2026 --model time_decay --by campaign --format csv --allocation headcount --no-compare",
    "budget --db {db} --format csv",
    "budget --db {db} --format json",
]


def run(checkout: Path, command: str) -> subprocess.CompletedProcess:
    python = checkout / ".venv" / "bin" / "python"
    return subprocess.run(
        [str(python), "-m", "analytics", *command.split()], cwd=checkout, capture_output=True, env=None, check=False
    )


def workbook_cells(path: Path) -> dict:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in book.worksheets}


def write_paths(db: str, target: Path) -> None:
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        con.execute(
            f"""
            copy (
                with journeys as (
                    select o.opportunity_id, string_agg(t.channel, ' > ' order by t.ts, t.touchpoint_id) as path,
                           coalesce(o.amount, 0) as amount
                    from opportunities as o join touchpoints as t on t.contact_id = o.contact_id
                    where o.is_closed_won and t.ts < o.close_date + interval 1 day
                    group by o.opportunity_id, o.amount
                )
                select replace(path, ' > ', '>') as path, count(*) as total_conversions,
                       sum(amount) as total_conversion_value, count(*) % 7 as total_null
                from journeys group by path order by path
            ) to '{target}' (header, delimiter ',')
            """
        )
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--db", required=True, help="a demo warehouse (read-only)")
    args = parser.parse_args()
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = Path(tmp) / "paths.csv"
        write_paths(args.db, paths)
        for template in COMMANDS:

            def output(side: str, checkout: Path, template: str = template) -> tuple:
                out = Path(tmp) / side
                out.mkdir(exist_ok=True)
                command = template.format(db=args.db, paths=paths, out=out)
                result = run(checkout, command)
                cells = workbook_cells(out / "roi.xlsx") if "--out" in command and result.returncode == 0 else None
                return result.returncode, result.stdout, repr(cells)

            # main's ROI figures vary in their last digit from run to run (a parallel float sum in the
            # overhead allocation of analytics/finance/costs.py, before and after), so each side is run
            # again, up to RETRIES times, until one output of "after" equals one of "before"
            afters, befores = [output("after", ROOT)], [output("before", args.before)]
            while not set(afters) & set(befores) and len(befores) < RETRIES:
                afters.append(output("after", ROOT))
                befores.append(output("before", args.before))
            same = bool(set(afters) & set(befores))
            varies = len(set(afters) | set(befores)) > 1
            differences += not same
            note = f", outputs varied over {len(befores)} runs of each" if varies else ""
            after = afters[0]
            print(f"{'same' if same else 'DIFFERENT'}  ({len(after[1]):,} bytes, exit {after[0]}{note})  {template}")
    print(f"{len(COMMANDS) - differences} of {len(COMMANDS)} commands give the same output")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
