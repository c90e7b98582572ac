"""A load rebuilds the derived tables whose sources it changed, and only those; the others stay right."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from analytics import loads
from analytics.loads import DERIVED, finish_load
from analytics.warehouse.connection import connect
from analytics.warehouse.schema import TABLES


@pytest.fixture()
def loaded(demo_db, tmp_path):
    """A writable copy of the small demo (every derived table current)."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, path)
    con = connect(path)
    yield con
    con.close()


def _counting(monkeypatch) -> list[str]:
    """Replace DERIVED with the same derived tables whose builds note their name when they run."""
    built: list[str] = []

    def counted(derived):
        def build(con):
            built.append(derived.name)
            derived.build(con)

        return dataclasses.replace(derived, build=build)

    monkeypatch.setattr(loads, "DERIVED", tuple(counted(d) for d in DERIVED))
    return built


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"select * from {table}").fetchall()  # names from DERIVED


def _same_rows(con, table: str, other: str) -> bool:
    """Whether ``table`` and ``other`` hold the same multiset of rows (``except all`` both ways)."""
    return (
        con.execute(
            f"select (select count(*) from (select * from {table} except all select * from {other})) "
            f"+ (select count(*) from (select * from {other} except all select * from {table}))"
        ).fetchall()[0][0]
        == 0
    )


def test_every_derived_table_declares_its_sources():
    for derived in DERIVED:
        assert derived.sources, derived.name
        assert set(derived.sources) <= set(TABLES), derived.name


@pytest.mark.parametrize("table", TABLES)
def test_a_load_of_one_table_rebuilds_exactly_the_derived_tables_that_read_it(loaded, monkeypatch, table):
    built = _counting(monkeypatch)
    before = {t: _rows(loaded, t) for d in DERIVED if table not in d.sources for t in d.tables}
    version = finish_load(loaded, "test", changed=[table])
    assert built == [d.name for d in DERIVED if table in d.sources]
    for derived in DERIVED:
        assert derived.current(loaded), derived.name
        assert loaded.execute("select value from _meta where key = ?", [derived.version_key]).fetchall() == [(version,)]
    for name, rows in before.items():  # marked current, not rebuilt: the same rows
        assert _rows(loaded, name) == rows, name


def test_an_unknown_change_rebuilds_everything(loaded, monkeypatch):
    built = _counting(monkeypatch)
    finish_load(loaded, "test")
    assert built == [d.name for d in DERIVED]
    assert all(d.current(loaded) for d in DERIVED)


def test_a_stale_derived_table_is_rebuilt_even_when_its_sources_did_not_change(loaded, monkeypatch):
    stale = DERIVED[1]
    loaded.execute(f"drop table {stale.tables[-1]}")
    assert not stale.current(loaded)
    built = _counting(monkeypatch)
    untouched = next(t for t in TABLES if all(t not in d.sources for d in DERIVED))
    finish_load(loaded, "test", changed=[untouched])
    assert built == [stale.name]
    assert all(d.current(loaded) for d in DERIVED)


def test_after_a_partial_load_every_derived_table_equals_a_full_rebuild(loaded):
    """New touchpoints: journeys and lead features are rebuilt, the health history kept; all as a rebuild gives."""
    loaded.execute(
        """
        insert into touchpoints (touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts)
        select 'new-' || touchpoint_id, contact_id, campaign_id, channel, touchpoint_type, ts + interval 3 day
        from touchpoints order by touchpoint_id limit 100
        """
    )
    finish_load(loaded, "import touchpoints", changed=["touchpoints"])
    for derived in DERIVED:
        for table in derived.tables:
            loaded.execute(f"create temp table kept_{table} as select * from {table}")
    finish_load(loaded, "refresh")
    for derived in DERIVED:
        for table in derived.tables:
            assert _same_rows(loaded, table, f"kept_{table}"), table


@pytest.mark.parametrize("derived", DERIVED, ids=lambda d: d.name)
def test_a_build_reads_no_canonical_table_outside_its_sources(loaded, derived):
    """With every other canonical table dropped, the build runs and gives the same rows."""
    for table in derived.tables:
        loaded.execute(f"create temp table kept_{table} as select * from {table}")
    for table in TABLES:
        if table not in derived.sources:
            loaded.execute(f"drop table {table}")
    derived.build(loaded)
    for table in derived.tables:
        assert _same_rows(loaded, table, f"kept_{table}"), table
