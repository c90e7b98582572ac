"""The ops store on a real PostgreSQL: a throwaway cluster (initdb + pg_ctl) on 127.0.0.1.

Skipped, with the reason, when the PostgreSQL server binaries or psycopg are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.crm.actions import queue as outbox
from analytics.crm.actions.delivery import Deliverer, RetryPolicy
from analytics.crm.hubspot import transport as hs
from analytics.ops.store import ops_engine
from analytics.ops.tables import SCHEMA_VERSION, schema_version
from tests.fakes.hubspot_server import HubSpotServer, seed_contacts

USER = "ops"
TOKEN = "pat-pg-token"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -r requirements-dev.txt)")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; apt-get install postgresql")
    as_user: list[str] = []
    # Not under pytest's basetemp: concurrent pytest runs prune each other's old basetemps.
    base = Path(tempfile.mkdtemp(prefix="revlens-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: run the cluster as the postgres user
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0 or not shutil.which("runuser"):
            pytest.skip("running as root without a 'postgres' user (or runuser) to own a throwaway cluster")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        os.chmod(base, 0o700)
    data = base / "data"
    port = _free_port()
    subprocess.run(
        [*as_user, initdb, "-D", str(data), "-U", "revlens", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -c listen_addresses=127.0.0.1 -k {base}",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://revlens@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def pg(postgres_url, tmp_path, monkeypatch):
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:  # a clean store per test
        conn.execute(sa.text("drop schema public cascade; create schema public"))
    engine.dispose()
    from analytics.ops import store as ops

    ops._engines.pop(postgres_url, None)
    monkeypatch.setenv("REVLENS_OPS_URL", postgres_url)
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", USER)
    return ops_engine(postgres_url)


def test_migration_on_postgres_adds_missing_columns(pg, postgres_url):
    with pg.begin() as conn:
        conn.execute(sa.text("alter table action_outbox drop column confirmed_by"))
    from analytics.ops import store as ops

    ops._engines.pop(postgres_url, None)
    engine = ops_engine(postgres_url)
    assert "confirmed_by" in {c["name"] for c in sa.inspect(engine).get_columns("action_outbox")}
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema_version.c.version)).scalar_one() == SCHEMA_VERSION


def test_enqueue_deliver_and_guard_rails_on_postgres(pg):
    with HubSpotServer(TOKEN) as server:
        seed_contacts(server, 400)
        server.lists["42"] = set()
        server.fault("500", path="memberships")
        audience = [{"hubspot_id": str(i)} for i in range(1, 251)]
        for _ in range(3):
            outbox.enqueue(
                "add_to_list", audience, {"list_id": "42"}, USER, idempotency_key=None if _ == 0 else f"again-{_}"
            )
        plan = outbox.plan_action(
            "add_to_list", audience + [{"hubspot_id": str(i)} for i in range(251, 351)], {"list_id": "42"}
        )
        assert len(plan.skipped) == 250 and len(plan.targets) == 100
        gateway = hs.HubSpotGateway(TOKEN, server.base_url, hs.Timeouts(1, 2), hs.RateLimiter(1000, 1))
        report = Deliverer(pg, gateway, RetryPolicy(base_delay_ms=10, max_delay_ms=50)).run(once=True)
        assert len(report.sent) == 3 and report.retries_scheduled == 1
        assert len(server.lists["42"]) == 250 and max(server.list_adds.values()) == 1
        assert set(outbox.list_actions(pg)["status"]) == {"sent"}


def test_two_deliverers_on_postgres_never_deliver_an_action_twice(pg):
    with HubSpotServer(TOKEN, latency_s=0.005) as server:
        seed_contacts(server, 400)
        ids = [
            outbox.enqueue(
                "update_properties", [{"hubspot_id": str(i), "properties": {"company": f"Co {i}"}}], {}, USER
            ).action_id
            for i in range(1, 41)
        ]
        reports = []

        def deliver():
            gateway = hs.HubSpotGateway(TOKEN, server.base_url, hs.Timeouts(1, 2), hs.RateLimiter(1000, 1))
            reports.append(Deliverer(pg, gateway, RetryPolicy(base_delay_ms=10)).run(once=True))

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        delivered = sorted(action for report in reports for action in report.sent)
        assert delivered == sorted(ids)  # each action by exactly one deliverer
        updates = [r for r in server.requests if r["path"].endswith("/batch/update")]
        assert len(updates) == 40
