"""The CLI: help lists subcommands, errors are one sentence and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import duckdb


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True, text=True, timeout=300)


def test_help_lists_subcommands():
    result = run("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout


def test_demo_builds_a_warehouse(tmp_path):
    path = tmp_path / "cli.duckdb"
    result = run("demo", "--db", str(path), "--touchpoints", "5000", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "Built" in result.stdout
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("select count(*) from touchpoints").fetchall()[0][0] == 5000
    assert con.execute("select value from _meta where key = 'version'").fetchall()


def test_user_errors_are_one_sentence_without_traceback(tmp_path):
    result = run("demo", "--db", str(tmp_path / "x.duckdb"), "--end-date", "31/10/2026")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: --end-date '31/10/2026' is not a date")
    assert len(result.stderr.strip().splitlines()) == 1
