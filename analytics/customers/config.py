"""The health score's configuration: component weights, band thresholds and key features.

Weights and bands are edited on the Health page and saved in the ops store
(``health_config``, one row per save, the newest wins, so every change is kept with who made
it and when); without a saved row the spec's weights and bands apply. Key features are one list
for health and adoption (:func:`configured_key_features`): the ``REVLENS_HEALTH_KEY_FEATURES``
setting (:func:`analytics.core.settings.health_key_features`) when set, else the list saved on
the Adoption page, else the default; the weekly history is built with it at every load.

Defaults (the spec's ``calculateWeightedScore``)::

    usage_frequency 0.25, feature_adoption 0.20, engagement_trend 0.15,
    support_health 0.15, payment_stability 0.15, marketing_engagement 0.10
    healthy >= 70, at risk 40-69.99, critical < 40
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from analytics.core.errors import RevLensError
from analytics.core.settings import health_key_features

if TYPE_CHECKING:
    import sqlalchemy as sa

COMPONENTS = (
    "usage_frequency",
    "feature_adoption",
    "engagement_trend",
    "support_health",
    "payment_stability",
    "marketing_engagement",
)
SPEC_WEIGHTS = (0.25, 0.20, 0.15, 0.15, 0.15, 0.10)  # in COMPONENTS order
BANDS = ("healthy", "at_risk", "critical")
HEALTHY_MIN = 70.0
CRITICAL_BELOW = 40.0
# The demo's core features; a warehouse whose events name none of them uses every feature it has.
DEFAULT_KEY_FEATURES = ("dashboards", "reports", "alerts", "integrations", "workflows", "exports")
WEIGHT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class HealthConfig:
    """Weights (in :data:`COMPONENTS` order), band thresholds and key features.

    ``band(score)`` is ``healthy`` when ``score >= healthy_min``, ``critical`` when
    ``score < critical_below``, else ``at_risk``. ``key_features`` empty means "the configured
    or default list" (:func:`resolve_key_features` decides against the warehouse).
    """

    weights: tuple[float, ...] = SPEC_WEIGHTS
    healthy_min: float = HEALTHY_MIN
    critical_below: float = CRITICAL_BELOW
    key_features: tuple[str, ...] = field(default=())

    @classmethod
    def from_weights(cls, weights: Mapping[str, float], **kwargs) -> HealthConfig:
        unknown = set(weights) - set(COMPONENTS)
        if unknown:
            raise RevLensError(
                f"Unknown health components {', '.join(sorted(unknown))}; the components are {', '.join(COMPONENTS)}."
            )
        return cls(weights=tuple(float(weights.get(name, 0.0)) for name in COMPONENTS), **kwargs)

    def weight(self, component: str) -> float:
        return self.weights[COMPONENTS.index(component)]

    def weights_by_component(self) -> dict[str, float]:
        return dict(zip(COMPONENTS, self.weights))

    def validate(self) -> HealthConfig:
        """Raise :class:`RevLensError` with one sentence when the weights or bands cannot be used."""
        if len(self.weights) != len(COMPONENTS):
            raise RevLensError(f"Give {len(COMPONENTS)} weights, one per component ({', '.join(COMPONENTS)}).")
        negative = [name for name, w in zip(COMPONENTS, self.weights) if w < 0]
        if negative:
            raise RevLensError(f"Weights cannot be negative ({', '.join(negative)}); set them to 0 or more.")
        total = sum(self.weights)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise RevLensError(
                f"The weights sum to {total:.4g}, not 1; change them so they add up to exactly 1 "
                f"({'lower' if total > 1 else 'raise'} them by {abs(total - 1):.4g} in all)."
            )
        if not 0 < self.critical_below < self.healthy_min <= 100:
            raise RevLensError(
                f"Bands need 0 < critical below ({self.critical_below:g}) < healthy from ({self.healthy_min:g}) "
                "<= 100; move the thresholds so the at-risk band lies between them."
            )
        return self

    def band(self, score: float) -> str:
        if score >= self.healthy_min:
            return "healthy"
        return "critical" if score < self.critical_below else "at_risk"

    def params(self) -> dict:
        """The SQL parameters of the weights and bands (``$w_<component>``, ``$healthy_min``, ``$critical_below``)."""
        return {
            **{f"w_{name}": float(w) for name, w in zip(COMPONENTS, self.weights)},
            "healthy_min": float(self.healthy_min),
            "critical_below": float(self.critical_below),
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "weights": self.weights_by_component(),
                "healthy_min": self.healthy_min,
                "critical_below": self.critical_below,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> HealthConfig:
        data = json.loads(text)
        return cls.from_weights(
            data["weights"], healthy_min=float(data["healthy_min"]), critical_below=float(data["critical_below"])
        )


SPEC_CONFIG = HealthConfig()


def configured_key_features() -> tuple[str, ...]:
    """The one list of key features health and adoption both use: ``REVLENS_HEALTH_KEY_FEATURES``
    (comma-separated feature names) when set, else the list saved on the Adoption page
    (:func:`saved_key_features`), else :data:`DEFAULT_KEY_FEATURES`."""
    return health_key_features() or saved_key_features() or DEFAULT_KEY_FEATURES


def sqlite_database(url: str) -> str | None:
    """The database of a SQLite URL as SQLAlchemy reads it (``sqlite:///relative.db``,
    ``sqlite:////absolute.db``, ``sqlite://`` in memory: ''), or None for another backend."""
    if not url.startswith("sqlite"):
        return None
    return url.partition("://")[2].partition("?")[0][1:]


def saved_key_features() -> tuple[str, ...]:
    """The key features of the newest saved adoption configuration (``adoption_config`` in the ops store),
    or none. A SQLite store that does not exist yet is not created for this read (a load, the CLI and the
    tests run without one), and a store that cannot be reached counts as nothing saved."""
    from pathlib import Path

    from analytics.core.settings import ops_url

    url = ops_url()
    database = sqlite_database(url)  # without importing SQLAlchemy: 0.2 CPU-s of a load without a store
    if database is not None and (database in ("", ":memory:") or not Path(database).is_file()):
        return ()

    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import adoption_config

    try:
        with ops_engine(url).connect() as conn:
            text = conn.execute(
                sa.select(adoption_config.c.config).order_by(adoption_config.c.id.desc()).limit(1)
            ).scalar_one_or_none()
    except RevLensError:
        return ()
    return tuple(json.loads(text).get("key_features") or ()) if text else ()


def resolve_key_features(con, configured: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The key features to score on: ``configured`` (or the setting's, or the default list), all of them;
    when the warehouse's usage events name none of them (another product), every feature the events name."""
    from analytics.warehouse.runner import rows

    wanted = tuple(configured) or configured_key_features()
    present = {
        name
        for (name,) in rows(
            con,
            "select distinct coalesce(feature_name, feature_id) from feature_usage_events "
            "where coalesce(feature_name, feature_id) is not null",
        )
    }
    return wanted if present.intersection(wanted) or not present else tuple(sorted(present))


# ---------------------------------------------------------------------------------------
# Saved in the ops store


def load_config(engine: sa.Engine | None = None) -> HealthConfig:
    """The newest saved weights and bands, or the spec's when none were saved."""
    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import health_config

    engine = engine or ops_engine()
    with engine.connect() as conn:
        text = conn.execute(
            sa.select(health_config.c.config).order_by(health_config.c.id.desc()).limit(1)
        ).scalar_one_or_none()
    return HealthConfig.from_json(text) if text else SPEC_CONFIG


def save_config(conn: sa.Connection, config: HealthConfig, user: str) -> int:
    """Save ``config`` inside the caller's transaction (after validating it); returns the row id."""
    from analytics.ops.audit import audit
    from analytics.ops.store import utcnow
    from analytics.ops.tables import health_config

    config.validate()
    row_id = conn.execute(
        health_config.insert().values(config=config.to_json(), saved_by=user, saved_at=utcnow())
    ).inserted_primary_key[0]
    audit(conn, user, "health_config_saved", config.to_json())
    return row_id


def config_history(engine: sa.Engine | None = None, limit: int = 20) -> list[dict]:
    """The saved configurations, newest first: ``{id, saved_by, saved_at, config}``."""
    import sqlalchemy as sa

    from analytics.ops.store import ops_engine
    from analytics.ops.tables import health_config

    engine = engine or ops_engine()
    with engine.connect() as conn:
        found = conn.execute(sa.select(health_config).order_by(health_config.c.id.desc()).limit(limit)).mappings()
        return [dict(row) for row in found]
