"""Fixtures of the write-back tests: a temporary ops store, and the local HubSpot server with records in it."""

from __future__ import annotations

import pytest

from tests.crm.support import TOKEN, USER
from tests.fakes.hubspot_server import HubSpotServer, seed_companies, seed_contacts, seed_deals


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """A temporary ops store, no secrets file, confirmers ``USER`` and ``ops``, no Kafka."""
    monkeypatch.setenv("REVLENS_OPS_URL", f"sqlite:///{tmp_path / 'ops.sqlite'}")
    monkeypatch.setenv("REVLENS_SECRETS", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("REVLENS_CONFIRMERS", f"{USER}, ops")
    monkeypatch.delenv("REVLENS_KAFKA_BOOTSTRAP", raising=False)
    return tmp_path


@pytest.fixture()
def server(env, monkeypatch):
    """The local HubSpot: contacts 1..300, companies 5001..5300, deals 9001..9300, list 42, workflow 7."""
    with HubSpotServer(TOKEN) as srv:
        seed_contacts(srv, 300)
        seed_companies(srv, 300)
        seed_deals(srv, 300)
        srv.lists["42"] = set()
        srv.workflows["7"] = set()
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("HUBSPOT_API_BASE", srv.base_url)
        yield srv
