"""The model registry and the journey window: what drives the engine, the page, the report and the CLI."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date

import pytest

from analytics.attribution import models, rules
from analytics.attribution.engine import attribute, bootstrap_intervals, top_paths
from analytics.attribution.window import DIMENSIONS, JourneyWindow, window_of
from analytics.core.errors import RevLensError
from analytics.core.labels import VOCABULARY
from tests.attribution.test_attribution import hand_db  # noqa: F401  (the hand warehouse)
from tests.paths import ROOT


def test_every_model_once_with_its_label_family_and_inputs():
    names = [m.name for m in models.REGISTRY]
    assert len(names) == len(set(names)) == 10
    assert models.MODELS == tuple(names)
    for model in models.REGISTRY:
        assert model.family in models.FAMILIES
        assert model.label == VOCABULARY["model"][model.name]  # the one vocabulary
    families = {f: [m.name for m in models.REGISTRY if m.family == f] for f in models.FAMILIES}
    assert families == {
        "single_touch": ["first_touch", "last_touch", "last_non_direct"],
        "rule": ["linear", "time_decay"],
        "position": ["position_based", "w_shaped", "full_path"],
        "chain": ["markov", "shapley"],
    }


def test_derived_lists_follow_the_inputs_each_model_needs():
    assert models.CHAIN_MODELS == ("markov", "shapley")
    assert models.RULE_MODELS == tuple(m for m in models.MODELS if m not in models.CHAIN_MODELS)
    # path files have neither touch dates nor creation times
    assert models.PATH_MODELS == (
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "position_based",
        "markov",
        "shapley",
    )
    assert {m.name for m in models.REGISTRY if m.needs_non_converting} == set(models.CHAIN_MODELS)
    assert {m.name for m in models.REGISTRY if m.needs_creation_times} == {"w_shaped", "full_path"}
    assert {m.name for m in models.REGISTRY if m.needs_touch_dates} == {"time_decay"}
    assert models.DEFAULT_MODELS == ("last_touch", "linear", "position_based", "markov", "shapley")
    assert models.AGREEMENT_MODELS == ("first_touch", "last_touch", "linear", "time_decay", "position_based")
    assert not set(models.AGREEMENT_MODELS) & set(models.CHAIN_MODELS)  # cheap models only


def test_every_rule_model_has_its_sql_and_the_registered_query_names_them_all():
    for name in models.RULE_MODELS:
        assert f"{name}_conversions" in rules.RULE_CREDITS.sql and f"{name}_revenue" in rules.RULE_CREDITS.sql
    assert "markov" not in rules.RULE_CREDITS.sql


def test_unknown_and_path_incompatible_models_are_said():
    assert models.check_models(["linear", "linear", "markov"]) == ("linear", "markov")
    with pytest.raises(RevLensError, match="Unknown attribution model nope; choose from first_touch"):
        models.check_models(["nope"])
    with pytest.raises(RevLensError, match="Unknown attribution model"):
        models.check_models([])
    with pytest.raises(RevLensError, match="time_decay needs touch dates"):
        models.check_models(["time_decay"], models.PATH_MODELS)
    with pytest.raises(RevLensError, match="use one of first_touch"):
        models.model("u_shaped")
    assert models.split(["markov", "linear", "shapley", "first_touch"]) == (
        ("linear", "first_touch"),
        ("markov", "shapley"),
    )


def test_the_cli_help_lists_the_registry():
    result = subprocess.run(
        [sys.executable, "-m", "analytics", "attribution", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for name in models.MODELS:
        assert name in text


# --------------------------------------------------------------------------- the window


def test_a_window_is_validated_once_when_made():
    window = JourneyWindow(by="campaign", lookback_days=30.0, close_from=date(2026, 1, 1), close_to=date(2026, 1, 1))
    assert window.lookback_days == 30 and isinstance(window.lookback_days, int)
    assert window.params() == {
        "by": "campaign",
        "lookback": 30,
        "close_from": date(2026, 1, 1),
        "close_to": date(2026, 1, 1),
        "segments": [],
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.by = "channel"
    assert hash(window) == hash(JourneyWindow("campaign", 30, False, date(2026, 1, 1), date(2026, 1, 1)))
    with pytest.raises(RevLensError, match="Unknown dimension 'region'; attribute by one of channel, campaign"):
        JourneyWindow(by="region")
    for lookback in (-1, 2.5):
        with pytest.raises(RevLensError, match=f"The lookback of {lookback} days is invalid"):
            JourneyWindow(lookback_days=lookback)
    with pytest.raises(RevLensError, match="ends before it starts"):
        JourneyWindow(close_from=date(2026, 2, 1), close_to=date(2026, 1, 31))
    with pytest.raises(RevLensError, match="close_to '2026-01-31' is not a date"):
        JourneyWindow(close_to="2026-01-31")
    assert set(DIMENSIONS) == {"channel", "campaign", "touchpoint_type"}


def test_window_or_fields_not_both():
    window = JourneyWindow(by="campaign")
    assert window_of(window, {}) is window
    assert window_of(None, {"by": "campaign"}) == window
    with pytest.raises(TypeError, match="not both"):
        window_of(window, {"lookback_days": 30})
    with pytest.raises(TypeError):
        window_of(None, {"lookback": 30})  # a misspelt field is not silently ignored


def test_the_window_object_and_its_fields_give_the_same_results(hand_db):  # noqa: F811
    fields = {"by": "campaign", "lookback_days": 60, "close_from": date(2026, 1, 1), "close_to": date(2026, 2, 28)}
    window = JourneyWindow(**fields)
    assert attribute(hand_db, models.MODELS, window).equals(attribute(hand_db, models.MODELS, **fields))
    assert top_paths(hand_db, window).equals(top_paths(hand_db, **fields))
    assert bootstrap_intervals(hand_db, ["linear", "markov"], window, n_boot=5).equals(
        bootstrap_intervals(hand_db, ["linear", "markov"], n_boot=5, **fields)
    )
