"""The protocol of a write-back kind (:class:`ActionKind`), and the small value types kinds share.

A kind is everything that differs between one sort of write-back and another: which targets
it takes and how it checks them, the HubSpot requests it builds for a batch, how it previews
a target, how it sends a batch so that a resend after an unknown outcome applies nothing
twice, its event topic, its HubSpot object type, whether it is a campaign, the CSV columns and
payload fields it reads, and the custom properties it needs first. The outbox
(:mod:`analytics.crm.actions.queue`), the delivery loop (:mod:`analytics.crm.actions.delivery`),
the CLI (``python -m analytics actions``) and the app's dialog only call these methods; none of
them knows a kind by its name.

Adding a kind: one module in this package with one subclass of :class:`ActionKind`, and one
line in :data:`analytics.crm.actions.kinds.KINDS` (docs/actions.md, "Adding a kind").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from analytics.core.errors import RevLensError
from analytics.core.labels import label
from analytics.crm.hubspot.properties import OBJECT_TYPES, PropertySpec
from analytics.crm.hubspot.transport import BATCH_LIMIT, HubSpotGateway, PlannedRequest


@dataclass(frozen=True)
class Param:
    """A payload field a kind reads: from a page's payload dict, or the CLI's ``--<name>`` / ``--param name=value``.

    ``parse`` turns the given value (text from the CLI, or a page's value) into the payload's
    value; ``expects`` says in words what it accepts, for the error when ``parse`` fails.
    ``default`` fills the payload when the field is not given (None: left out).
    """

    name: str
    help: str
    default: Any = None
    required: bool = False
    parse: Callable[[Any], Any] = str
    choices: tuple[str, ...] = ()
    expects: str = "text"

    @property
    def option(self) -> str:
        """The CLI option: ``list_id`` → ``--list-id``."""
        return "--" + self.name.replace("_", "-")


def comma_list(value) -> list[str]:
    """A list of names from ``"a, b"`` (the CLI) or ``["a", "b"]`` (a page); empty items dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def whole_number(value) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


@dataclass(frozen=True)
class CsvColumns:
    """The CSV columns the CLI reads for a kind, one row per target.

    A row needs a value in one of ``identity``; ``extra`` columns are kept on the target when
    present; with ``properties`` every other column is a property to write (an empty cell
    leaves that property unchanged).
    """

    identity: tuple[str, ...]
    extra: tuple[str, ...] = ()
    properties: bool = False

    def describe(self) -> str:
        """``hubspot_id or email, then one column per property`` — for help texts."""
        text = " or ".join(self.identity)
        if self.extra:
            text += f" (and {', '.join(self.extra)})"
        if self.properties:
            text += ", then one column per property"
        return text


@dataclass
class Attempt:
    """What the deliverer tells a kind about the batch it is sending.

    ``uncertain``: the batch was tried before (or retried by a user after failing), so HubSpot
    may already have applied some or all of it. ``progress``: how many of the batch's targets
    are recorded done (kinds that send one request per target); ``advance(done)`` records
    more and renews the deliverer's lease, in its own transaction.
    """

    action_key: str
    created_at: datetime
    uncertain: bool = False
    progress: int = 0
    advance: Callable[[int], None] = lambda done: None


class ActionKind(ABC):
    """One kind of write-back to HubSpot. Subclasses set the class attributes and the abstract methods.

    Class attributes
    ----------------
    name : the kind's machine name (the ``kind`` of queued actions, ``--kind`` in the CLI).
    object_type : the HubSpot object type whose records it writes (``contacts``, ``companies``,
        ``deals``), or None for a kind that writes no records (``create_properties``).
    topic : the event topic of its actions (see :meth:`topic_for` for one that depends on the input).
    campaign : a campaign kind reaches 100 to 1,000,000 contacts and counts towards each
        contact's weekly frequency cap (the guard rails live in the queue).
    columns : the CSV columns the CLI reads; None: the kind takes no targets.
    params : the payload fields it reads (CLI options, page payload keys).
    """

    name: ClassVar[str]
    object_type: ClassVar[str | None]
    topic: ClassVar[str]
    campaign: ClassVar[bool] = False
    columns: ClassVar[CsvColumns | None] = None
    params: ClassVar[tuple[Param, ...]] = ()

    # -- what it is ------------------------------------------------------------------

    @property
    def label(self) -> str:
        return label("kind", self.name)

    @property
    def needs_targets(self) -> bool:
        return self.columns is not None

    @property
    def noun(self) -> str:
        """What its targets are, plural (``contacts``, ``companies``, ``deals``)."""
        return self.object_type or "targets"

    @property
    def singular(self) -> str:
        return OBJECT_TYPES.get(self.object_type or "", "target")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # -- input -----------------------------------------------------------------------

    def normalize(self, payload: dict) -> dict:
        """The payload with every declared field parsed and the defaults filled in (nothing else changes)."""
        normalized = dict(payload)
        for param in self.params:
            value = normalized.get(param.name)
            if value is None:
                if param.default is not None:
                    normalized[param.name] = param.default
                continue
            try:
                normalized[param.name] = param.parse(value)
            except (TypeError, ValueError):
                raise RevLensError(
                    f"{param.option} of {self.name} must be {param.expects}; {value!r} is not."
                ) from None
        return normalized

    def validate(self, targets: list[dict], payload: dict) -> None:
        """Raise :class:`RevLensError` with one sentence for the first problem of the (normalized) input."""
        if self.needs_targets:
            if not targets:
                raise RevLensError(
                    f"The {self.name} action has no target {self.noun}; select at least one {self.singular}."
                )
            for number, target in enumerate(targets, start=1):
                self.validate_target(number, target)
        self.validate_payload(payload)

    def validate_target(self, number: int, target: dict) -> None:
        """A target needs one of the identity columns; kinds add their own checks."""
        identity = self.columns.identity if self.columns else ()
        if identity and not any(str(target.get(column) or "").strip() for column in identity):
            if len(identity) == 1:
                raise RevLensError(
                    f"Target {number} of the {self.name} action has no {identity[0]}; "
                    f"{self.name} needs a {identity[0]} for every {self.singular}."
                )
            raise RevLensError(
                f"Target {number} of the {self.name} action has neither {' nor '.join(identity)}; "
                f"give one of them to identify the {self.singular}."
            )

    def validate_payload(self, payload: dict) -> None:
        """Required fields are given, choices are respected; kinds add their own checks."""
        for param in self.params:
            value = payload.get(param.name)
            if param.required and not str(value if value is not None else "").strip():
                raise RevLensError(f"{self.name} needs {param.option}: {param.help}.")
            if param.choices and value is not None and value not in param.choices:
                raise RevLensError(
                    f"{param.option} of {self.name} must be one of {', '.join(param.choices)}; {value!r} is not."
                )

    def target_key(self, target: dict) -> str:
        """The target's identity, for dropping duplicates and for the frequency cap: HubSpot id, else email."""
        if target.get("hubspot_id"):
            return f"id:{target['hubspot_id']}"
        return f"email:{str(target.get('email', '')).strip().lower()}"

    def batches(self, targets: list[dict]) -> list[list[dict]]:
        """The targets in batches of at most 100 (HubSpot's batch limit); one empty batch for a kind without targets."""
        if not self.needs_targets:
            return [[]]
        return [targets[i : i + BATCH_LIMIT] for i in range(0, len(targets), BATCH_LIMIT)]

    # -- requests and preview --------------------------------------------------------

    @abstractmethod
    def requests(self, batch: list[dict], payload: dict, action_key: str, created_at: datetime) -> list[PlannedRequest]:
        """The HTTP requests that deliver ``batch`` (exactly what :meth:`send` sends when nothing is uncertain)."""

    def request_count(self, targets: list[dict], batches: list[list[dict]], payload: dict) -> int:
        """How many requests delivering the whole action takes; by default one per batch."""
        return len(batches)

    @abstractmethod
    def sends(self, target: dict, payload: dict) -> str:
        """What the action sends for ``target``, in words or JSON, for the preview table."""

    def preview_row(self, target: dict, payload: dict) -> dict:
        """One row of the preview table: the target's identity and what it is sent."""
        return {
            "hubspot_id": str(target.get("hubspot_id") or "") or None,
            "email": target.get("email"),
            "sends": self.sends(target, payload),
        }

    def amount(self, targets: list[dict], payload: dict) -> str:
        """How much the action reaches, for summaries: ``150 contacts``."""
        return f"{len(targets):,} {self.noun}"

    def preview_table(self, payload: dict) -> list[dict] | None:
        """Rows the preview shows for a kind without targets (None: the targets' rows say it all)."""
        return None

    # -- delivery --------------------------------------------------------------------

    def custom_properties(self, targets: list[dict], payload: dict) -> list[PropertySpec]:
        """The custom properties HubSpot must have before this batch is sent (created when missing)."""
        return []

    @abstractmethod
    def send(self, gateway: HubSpotGateway, batch: list[dict], payload: dict, attempt: Attempt) -> dict:
        """Send one batch through ``gateway``; safe to call again when ``attempt.uncertain``.

        Returns counts for the batch's result (``sent``, ``applied``, ``rejected`` and
        ``rejection``: HubSpot's partial rejections in words, or ""; kinds add their own, e.g.
        ``already_created``). Raises :class:`~analytics.crm.hubspot.transport.HubSpotError`
        when HubSpot or the connection fails; delivery decides whether to retry.
        """

    def topic_for(self, targets: list[dict], payload: dict) -> str:
        """The event topic of an action with this input (an explicit ``payload['topic']`` wins in the queue)."""
        return self.topic


def batch_outcome(answer: dict | None, sent: int) -> dict:
    """Counts from a batch answer: 200/201, or 207 with ``errors`` (each naming the ids it rejects)."""
    answer = answer or {}
    results = answer.get("results") or []
    errors = answer.get("errors") or []
    rejected_ids: list[str] = []
    for error in errors:
        context = error.get("context") or {}
        rejected_ids.extend(context.get("ids", []) if isinstance(context, dict) else [])
    rejected = len(rejected_ids) or (sent - len(results) if errors else 0)
    message = "; ".join(str(error.get("message", "")) for error in errors[:3])
    return {
        "sent": sent,
        "applied": len(results),
        "rejected": rejected,
        "rejection": f"HubSpot rejected {rejected} of {sent}: {message}" if errors else "",
    }
