"""Secrets never reach an error, and connection failures are told apart (issue 13, cases 4 and 9)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from analytics.core.errors import RevLensError
from analytics.core.redact import scrub
from analytics.core.settings import hubspot_token
from analytics.crm.hubspot import transport as hs
from tests.crm.support import TOKEN
from tests.fakes.hubspot_server import HubSpotServer

NEWLINE_TOKEN = "pat-na1-11111111-2222\n3333-4444-555555555555"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_token_with_a_newline_is_refused_when_read_without_quoting_it(env, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", NEWLINE_TOKEN)
    with pytest.raises(RevLensError) as caught:
        hubspot_token()
    assert "line break" in str(caught.value)
    for piece in NEWLINE_TOKEN.split("\n"):
        assert piece not in str(caught.value)
    with pytest.raises(RevLensError):
        hs.HubSpotGateway(NEWLINE_TOKEN, api_base="http://127.0.0.1:9")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "  pat-ok-token\n")  # surrounding whitespace is dropped
    assert hubspot_token() == "pat-ok-token"


def test_an_error_from_the_http_stack_is_scrubbed_of_the_header_and_token(env, monkeypatch):
    """The token gets past validation into the SDK (as if set by hand): the error holds neither."""
    with HubSpotServer(TOKEN) as server:
        gateway = hs.HubSpotGateway(TOKEN, api_base=server.base_url)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", NEWLINE_TOKEN)
        api = gateway.api("crm.contacts.basic_api")
        api.api_client.configuration.access_token = NEWLINE_TOKEN
        with pytest.raises(hs.PermanentError) as caught:
            gateway.call("crm.contacts.basic_api.get_page")
        gateway.client.access_token = NEWLINE_TOKEN
        gateway.client.config["access_token"] = NEWLINE_TOKEN
        with pytest.raises(hs.HubSpotError) as legacy:
            gateway.api_request("GET", "/crm/v3/objects/contacts")
    for error in (caught.value, legacy.value):
        text = str(error)
        assert "Bearer pat" not in text and "pat-na1" not in text and "3333-4444" not in text, text
        assert error.__cause__ is None and error.__suppress_context__


def test_scrub_removes_tokens_bearer_values_and_auth_headers():
    text = (
        "Invalid header value b'Bearer pat-na1-abc\\ndef' headers={'Authorization': 'Bearer x', 'Accept': 'json'} "
        "url=https://api.hubapi.com/x?hapikey=secret123&a=1"
    )
    cleaned = scrub(text, "pat-na1-abc\ndef")
    assert "pat-na1" not in cleaned and "Bearer x" not in cleaned and "secret123" not in cleaned
    assert "Accept" in cleaned  # the rest of the message stays readable


def test_connection_refused_dns_and_timeouts_are_told_apart(env):
    refused = hs.HubSpotGateway(TOKEN, api_base=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(hs.TransientError) as caught:
        refused.call("crm.contacts.basic_api.get_page")
    assert "refused the connection" in str(caught.value) and caught.value.reason == "connection"
    with pytest.raises(hs.TransientError) as caught:
        refused.api_request("GET", "/crm/v3/objects/contacts")
    assert "refused the connection" in str(caught.value)

    dns = hs.HubSpotGateway(TOKEN, api_base="http://revlens-no-such-host.invalid")
    with pytest.raises(hs.TransientError) as caught:
        dns.call("crm.contacts.basic_api.get_page")
    assert "DNS" in str(caught.value)

    listener = socket.socket()  # accepts and never answers: a read timeout
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        silent = hs.HubSpotGateway(
            TOKEN, api_base=f"http://127.0.0.1:{listener.getsockname()[1]}", timeouts=hs.Timeouts(1.0, 0.3)
        )
        with pytest.raises(hs.TransientError) as caught:
            silent.call("crm.contacts.basic_api.get_page")
        assert "did not answer within 0.3 s" in str(caught.value) and caught.value.reason == "timeout"
    finally:
        listener.close()


def test_sync_with_the_api_unreachable_is_one_sentence(env, tmp_path, demo_db):
    import shutil

    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    result = subprocess.run(
        [sys.executable, "-m", "analytics", "sync", "hubspot", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **__import__("os").environ,
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_API_BASE": f"http://127.0.0.1:{_free_port()}",
        },
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "refused the connection" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
