"""The attribution models: one registry that the engine, the Attribution page, the finance
report and the CLI read (no model list is written anywhere else).

Each model has a ``name`` (what the CLI, CSV and JSON use), a ``label`` (from
:mod:`analytics.core.labels`), a ``family``, and the inputs it needs:

============== ================================================ ==========================
family         models                                           credit computed by
============== ================================================ ==========================
single_touch   first_touch, last_touch, last_non_direct         :mod:`.rules` (SQL)
rule           linear, time_decay                               :mod:`.rules` (SQL)
position       position_based, w_shaped, full_path              :mod:`.rules` (SQL)
chain          markov, shapley                                  :mod:`.chains` + numpy
============== ================================================ ==========================

- ``needs_touch_dates``: the days from each touch to the close (``time_decay``);
- ``needs_creation_times``: the lead's and the opportunity's creation times (``w_shaped``,
  ``full_path``'s lead- and opportunity-creation milestones);
- ``needs_non_converting``: the journeys that did not convert (``markov``, ``shapley``).

A path file (ChannelAttribution's format) has neither dates nor creation times, so only the
models needing neither work on it (:data:`PATH_MODELS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analytics.core.errors import RevLensError
from analytics.core.labels import label

FAMILIES = ("single_touch", "rule", "position", "chain")
UNATTRIBUTED = "(unattributed)"


@dataclass(frozen=True)
class AttributionModel:
    """One model of the registry (see the module docstring)."""

    name: str
    family: str
    needs_touch_dates: bool = False
    needs_creation_times: bool = False
    needs_non_converting: bool = False
    compared_by_default: bool = False  # in the Attribution page's default comparison
    in_agreement: bool = False  # its spread grades the finance report's confidence (cheap models only)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}")

    @property
    def label(self) -> str:
        return label("model", self.name)

    @property
    def is_chain(self) -> bool:
        """Credited from all journeys at once (Markov, Shapley), not journey by journey in SQL."""
        return self.family == "chain"

    @property
    def works_on_paths(self) -> bool:
        return not (self.needs_touch_dates or self.needs_creation_times)


REGISTRY: tuple[AttributionModel, ...] = (
    AttributionModel("first_touch", "single_touch", in_agreement=True),
    AttributionModel("last_touch", "single_touch", compared_by_default=True, in_agreement=True),
    AttributionModel("last_non_direct", "single_touch"),
    AttributionModel("linear", "rule", compared_by_default=True, in_agreement=True),
    AttributionModel("time_decay", "rule", needs_touch_dates=True, in_agreement=True),
    AttributionModel("position_based", "position", compared_by_default=True, in_agreement=True),
    AttributionModel("w_shaped", "position", needs_creation_times=True),
    AttributionModel("full_path", "position", needs_creation_times=True),
    AttributionModel("markov", "chain", needs_non_converting=True, compared_by_default=True),
    AttributionModel("shapley", "chain", needs_non_converting=True, compared_by_default=True),
)
BY_NAME: dict[str, AttributionModel] = {m.name: m for m in REGISTRY}


def names(keep=lambda model: True) -> tuple[str, ...]:
    """The names of the registry's models for which ``keep(model)``, in registry order."""
    return tuple(m.name for m in REGISTRY if keep(m))


MODELS = names()
RULE_MODELS = names(lambda m: not m.is_chain)
CHAIN_MODELS = names(lambda m: m.is_chain)
PATH_MODELS = names(lambda m: m.works_on_paths)
DEFAULT_MODELS = names(lambda m: m.compared_by_default)
AGREEMENT_MODELS = names(lambda m: m.in_agreement)
MODEL_RANK = {name: i for i, name in enumerate(MODELS)}


def model(name: str) -> AttributionModel:
    if name not in BY_NAME:
        raise RevLensError(f"Unknown attribution model {name!r}; use one of {', '.join(MODELS)}.")
    return BY_NAME[name]


def check_models(models: Iterable[str], allowed: Sequence[str] = MODELS) -> tuple[str, ...]:
    """``models`` without repeats, each a registry name among ``allowed``; a clear error otherwise."""
    models = tuple(dict.fromkeys(models))
    unknown = [m for m in models if m not in BY_NAME]
    if unknown or not models:
        raise RevLensError(
            f"Unknown attribution model {', '.join(unknown) or '(none)'}; choose from {', '.join(MODELS)} or all."
        )
    unsupported = [m for m in models if m not in allowed]
    if unsupported:
        raise RevLensError(
            f"The model {', '.join(unsupported)} needs touch dates and lead/opportunity creation times, "
            f"which path input lacks; with --paths use {', '.join(allowed)}."
        )
    return models


def split(models: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(rule models, chain models)`` of ``models``, each in the given order."""
    models = tuple(models)
    return tuple(m for m in models if not BY_NAME[m].is_chain), tuple(m for m in models if BY_NAME[m].is_chain)
