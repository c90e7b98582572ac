"""Settings read from the environment or ``.streamlit/secrets.toml``: the only reader of either.

The secrets file is the one Streamlit reads (``.streamlit/secrets.toml`` in the working
directory, or ``REVLENS_SECRETS``); the CLI and the delivery worker read it too, so one
file configures both. Environment variables win over the file.

Recognised keys, at the top level of secrets.toml::

    HUBSPOT_ACCESS_TOKEN = "pat-..."        # private-app token; without it: preview only
    HUBSPOT_API_BASE = "https://api.hubapi.com"
    REVLENS_CONFIRMERS = ["ana@example.com", "ops"]   # who may confirm actions
    REVLENS_TENANT_ID = "acme"

or in tables, where the table name is the prefix (``[hubspot] access_token = ...`` is
``HUBSPOT_ACCESS_TOKEN``, ``[revlens] confirmers = [...]`` is ``REVLENS_CONFIRMERS``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from analytics.core.errors import RevLensError

DEFAULT_API_BASE = "https://api.hubapi.com"
DEFAULT_DB = "data/warehouse.duckdb"
DEFAULT_OPS_URL = "sqlite:///data/ops.sqlite"


def db_path() -> Path:
    """The warehouse location: ``REVLENS_DB`` or ``data/warehouse.duckdb``."""
    return Path(os.environ.get("REVLENS_DB", DEFAULT_DB))


def ops_url() -> str:
    """The operations store's SQLAlchemy URL: ``REVLENS_OPS_URL`` or a SQLite file."""
    return os.environ.get("REVLENS_OPS_URL", DEFAULT_OPS_URL)


def current_user() -> str:
    """Who runs a command: ``REVLENS_USER``, else the login name (the app prefers its signed-in user)."""
    import getpass

    return os.environ.get("REVLENS_USER") or getpass.getuser()


def app_worker_enabled() -> bool:
    """Whether the app runs its own delivery worker (``REVLENS_APP_WORKER``, default on)."""
    return os.environ.get("REVLENS_APP_WORKER", "1") != "0"


def secrets_path() -> Path:
    return Path(os.environ.get("REVLENS_SECRETS", ".streamlit/secrets.toml"))


def read_secrets() -> dict:
    """The secrets file as a flat dict (``[revlens]`` and ``[hubspot]`` tables merged in)."""
    path = secrets_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        # The message names the file and line, never the values in it.
        raise RevLensError(f"{path} is not valid TOML ({exc}); fix the file or remove it.") from None
    flat = {key: value for key, value in data.items() if not isinstance(value, dict)}
    for section in ("revlens", "hubspot"):
        prefix = f"{section.upper()}_"
        for key, value in (data.get(section) or {}).items():
            name = key.upper() if key.upper().startswith(prefix) else prefix + key.upper()
            flat.setdefault(name, value)
    return flat


def setting(name: str, default=None):
    """``name`` from the environment, else from the secrets file, else ``default``."""
    if os.environ.get(name):
        return os.environ[name]
    return read_secrets().get(name, default)


def check_token(token: str) -> str:
    """``token`` if it can go in an ``Authorization`` header: no whitespace or control characters inside.

    The message never quotes the token (a pasted token with a line break would otherwise
    end up in urllib3's error, header and all).
    """
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or not ch.isprintable() for ch in token):
        raise RevLensError(
            "The HubSpot token (HUBSPOT_ACCESS_TOKEN) contains whitespace or a control character, such as a "
            "line break from copying; paste it again as one line without spaces."
        )
    return token


def hubspot_token() -> str | None:
    """The HubSpot private-app token, or None (the app then runs preview-only); validated when read
    (:func:`check_token`), surrounding whitespace dropped."""
    token = setting("HUBSPOT_ACCESS_TOKEN")
    token = str(token).strip() if token else ""
    return check_token(token) or None


def hubspot_api_base() -> str:
    return str(setting("HUBSPOT_API_BASE", DEFAULT_API_BASE)).rstrip("/")


def tenant_id() -> str:
    return str(setting("REVLENS_TENANT_ID", "default"))


def confirmers() -> frozenset[str]:
    """Users allowed to confirm write-back actions (``REVLENS_CONFIRMERS``), lowercased.

    A comma-separated string in the environment, a list or a string in the secrets file.
    Empty means nobody may confirm: write-back is opt-in.
    """
    raw = setting("REVLENS_CONFIRMERS", "")
    names = raw if isinstance(raw, list) else str(raw).split(",")
    return frozenset(str(name).strip().lower() for name in names if str(name).strip())


def _names(raw) -> tuple[str, ...]:
    names = raw if isinstance(raw, list) else str(raw or "").split(",")
    return tuple(dict.fromkeys(str(name).strip() for name in names if str(name).strip()))


def health_key_features() -> tuple[str, ...]:
    """The health score's key features (``REVLENS_HEALTH_KEY_FEATURES``: a comma-separated string, or a
    list in the secrets file); empty means the documented default list."""
    return _names(setting("REVLENS_HEALTH_KEY_FEATURES", ""))


def retention_campaign_targets() -> dict[str, str | None]:
    """The HubSpot list and workflow a retention campaign adds to by default
    (``REVLENS_RETENTION_LIST_ID``, ``REVLENS_RETENTION_WORKFLOW_ID``); None when unset."""
    return {
        "list_id": str(setting("REVLENS_RETENTION_LIST_ID") or "").strip() or None,
        "workflow_id": str(setting("REVLENS_RETENTION_WORKFLOW_ID") or "").strip() or None,
    }


DEFAULT_LEAD_RULES = "data/lead_rules.txt"
DEFAULT_LEAD_ROUTING = "data/lead_routing.toml"


def lead_rules_path() -> Path:
    """The lead-scoring rules file: ``REVLENS_LEAD_RULES`` or ``data/lead_rules.txt``."""
    return Path(os.environ.get("REVLENS_LEAD_RULES", DEFAULT_LEAD_RULES))


def lead_routing_path() -> Path:
    """The lead-routing configuration: ``REVLENS_LEAD_ROUTING`` or ``data/lead_routing.toml``."""
    return Path(os.environ.get("REVLENS_LEAD_ROUTING", DEFAULT_LEAD_ROUTING))


def follow_up_list_id() -> str | None:
    """The HubSpot list newly qualified leads join (``REVLENS_FOLLOW_UP_LIST``), if set."""
    value = setting("REVLENS_FOLLOW_UP_LIST")
    return str(value).strip() or None if value else None


def follow_up_workflow_id() -> str | None:
    """The HubSpot workflow newly qualified leads are enrolled in (``REVLENS_FOLLOW_UP_WORKFLOW``), if set."""
    value = setting("REVLENS_FOLLOW_UP_WORKFLOW")
    return str(value).strip() or None if value else None


def debug() -> bool:
    """Whether the CLI prints the traceback of an unexpected error (``REVLENS_DEBUG=1``)."""
    return os.environ.get("REVLENS_DEBUG", "") not in ("", "0")


def stale_after_days() -> dict[str, int]:
    """Per-table overrides of when data is stale (``REVLENS_STALE_DAYS``), in days since a table's newest row.

    ``touchpoints=3,invoices=60`` sets two tables; a bare number (``30``) sets every table; in the
    secrets file a table of ``name = days`` works too. Bad entries are ignored, so the Data page
    still opens; :data:`analytics.warehouse.catalog.STALE_AFTER_DAYS` holds the defaults.
    """
    raw = setting("REVLENS_STALE_DAYS", "")
    if isinstance(raw, dict):
        items = raw.items()
    else:
        text = str(raw).strip()
        if text.isdigit():
            return {"*": int(text)}
        items = (item.partition("=")[::2] for item in text.split(",") if "=" in item)
    overrides = {}
    for name, days in items:
        try:
            overrides[str(name).strip()] = int(str(days).strip())
        except ValueError:
            continue
    return overrides


# Scheduled jobs and SLA monitoring (analytics.jobs)
DEFAULT_EXPORTS = "data/exports"
DEFAULT_SCHEDULE = "data/schedule.toml"


def exports_dir() -> Path:
    """Where jobs write their files (workbooks, reports): ``REVLENS_EXPORTS`` or ``data/exports``."""
    return Path(os.environ.get("REVLENS_EXPORTS", DEFAULT_EXPORTS))


def schedule_path() -> Path:
    """The job schedule: ``REVLENS_SCHEDULE`` or ``data/schedule.toml``."""
    return Path(os.environ.get("REVLENS_SCHEDULE", DEFAULT_SCHEDULE))


def job_timezone_override() -> str | None:
    """``REVLENS_TIMEZONE``: the schedule's time zone, over the schedule file's ``timezone``."""
    value = setting("REVLENS_TIMEZONE")
    return str(value).strip() or None if value else None


def alert_webhook_url() -> str | None:
    """``REVLENS_ALERT_WEBHOOK``: a URL the alert-system consumer POSTs each notification to (optional)."""
    value = setting("REVLENS_ALERT_WEBHOOK")
    return str(value).strip() or None if value else None


def metrics_port() -> int:
    """``REVLENS_METRICS_PORT``: where ``jobs serve`` exposes Prometheus metrics (default 9464; 0 = off)."""
    return int(setting("REVLENS_METRICS_PORT", 9464))


def job_heartbeat_s() -> float:
    """``REVLENS_JOB_HEARTBEAT_S``: seconds between a running job's heartbeats (default 10);
    a run whose heartbeat is 3 intervals old is dead."""
    return float(setting("REVLENS_JOB_HEARTBEAT_S", 10))


def app_url() -> str | None:
    """``REVLENS_APP_URL``: the app's address, probed for availability by ``jobs serve`` (optional)."""
    value = setting("REVLENS_APP_URL")
    return str(value).strip().rstrip("/") or None if value else None


DEFAULT_FEEDBACK_TAXONOMY = "data/feedback_taxonomy.txt"


def feedback_taxonomy_path() -> Path:
    """The feedback themes' taxonomy file: ``REVLENS_FEEDBACK_TAXONOMY`` or ``data/feedback_taxonomy.txt``."""
    return Path(os.environ.get("REVLENS_FEEDBACK_TAXONOMY", DEFAULT_FEEDBACK_TAXONOMY))


DEFAULT_WRITE_WAIT_S = 60.0


def write_wait_seconds() -> float:
    """How long a writer waits for readers (the app) to let go of the warehouse: ``REVLENS_WRITE_WAIT``, default 60 s."""
    raw = os.environ.get("REVLENS_WRITE_WAIT", "")
    try:
        return max(float(raw), 0.0) if raw.strip() else DEFAULT_WRITE_WAIT_S
    except ValueError:
        raise RevLensError(f"REVLENS_WRITE_WAIT={raw!r} is not a number of seconds; set it like 60 or 0.5.") from None
