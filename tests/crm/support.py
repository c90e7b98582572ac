"""What the write-back tests share: the token and user of the local HubSpot, a fast deliverer, an action's row."""

from __future__ import annotations

import sqlalchemy as sa

from analytics.crm.actions import queue as outbox
from analytics.crm.actions.delivery import Deliverer, RetryPolicy
from analytics.crm.hubspot import transport as hs
from analytics.ops import tables

TOKEN = "pat-na1-SECRET-0123456789abcdef"
USER = "ana@example.com"


def make_deliverer(server, **policy) -> Deliverer:
    """A deliverer against ``server`` with short timeouts and retry delays (``policy`` overrides them)."""
    gateway = hs.HubSpotGateway(TOKEN, server.base_url, hs.Timeouts(connect=1, read=0.5), hs.RateLimiter(1000, 1))
    retry = RetryPolicy(**{"base_delay_ms": 10, "max_delay_ms": 200, **policy})
    return Deliverer(outbox.store(), gateway, retry, lease_s=30)


def status_of(action_id):
    with outbox.store().connect() as conn:
        return conn.execute(sa.select(tables.actions).where(tables.actions.c.id == action_id)).mappings().one()
