"""The audit log: who did what to which action, when."""

from __future__ import annotations

import sqlalchemy as sa

from analytics.ops.store import utcnow
from analytics.ops.tables import audit_log


def audit(conn: sa.Connection, actor: str, event: str, detail: str = "", action_id: int | None = None) -> None:
    """Write one audit row inside the caller's transaction ``conn``."""
    conn.execute(audit_log.insert().values(at=utcnow(), actor=actor, action_id=action_id, event=event, detail=detail))
