"""The job registry: each scheduled job by name, its SLA class, its parameters, its function.

A job is a plain function ``run(ctx: JobContext) -> JobOutcome`` registered with :func:`job`;
its docstring says what it reads and writes. :func:`analytics.jobs.catalog.get` is the spec's
``executeSyncJob`` switch: a name that is not registered is ``Unknown sync job type: NAME``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from analytics.core.errors import RevLensError


@dataclass(frozen=True)
class Param:
    """One parameter of a job: its type (``str``, ``int``, ``float``, ``bool``, ``date``), default and help."""

    name: str
    type: type
    default: object
    help: str

    def parse(self, job: str, text: str):
        if self.type is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
        else:
            try:
                return date.fromisoformat(text.strip()) if self.type is date else self.type(text.strip())
            except ValueError:
                pass
        kind = {str: "text", int: "a whole number", float: "a number", bool: "true or false", date: "a date"}
        raise RevLensError(
            f"Parameter {self.name}={text!r} of {job} is not {kind[self.type]}"
            + (" (YYYY-MM-DD)" if self.type is date else "")
            + f"; {self.help}."
        )


@dataclass
class JobContext:
    """What a job runs with: the warehouse path, the ops store, its parameters, where to write files."""

    job: str
    db: Path
    engine: sa.Engine
    params: dict
    exports: Path
    run_id: int | None = None
    progress: Callable[[str], None] = lambda message: None


@dataclass
class JobOutcome:
    """What a job produced: ``rows`` (its measure of work, in its docstring), files, stored figures."""

    rows: int = 0
    outputs: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], JobOutcome]
    sla_class: str
    params: tuple[Param, ...] = ()
    writes_warehouse: bool = False

    @property
    def doc(self) -> str:
        return (self.run.__doc__ or "").strip()

    @property
    def summary_line(self) -> str:
        return self.doc.splitlines()[0].replace("``", "") if self.doc else self.name

    def parse_params(self, given: dict[str, str] | None) -> dict:
        """Defaults overridden by ``given`` (text values, as from ``--param k=v``), typed."""
        known = {p.name: p for p in self.params}
        values = {p.name: p.default for p in self.params}
        for key, text in (given or {}).items():
            if key not in known:
                names = ", ".join(known) or "none"
                raise RevLensError(f"{self.name} has no parameter {key!r}; its parameters are: {names}.")
            values[key] = known[key].parse(self.name, text) if isinstance(text, str) else text
        return values


JOBS: dict[str, Job] = {}


def job(name: str, sla_class: str, params: tuple[Param, ...] = (), writes_warehouse: bool = False):
    """Register the decorated function as the job ``name``."""
    from analytics.jobs.sla import target_ms

    target_ms(sla_class)

    def register(func):
        JOBS[name] = Job(name, func, sla_class, params, writes_warehouse)
        return func

    return register
