"""The write-back kinds: :data:`KINDS`, name → kind, each one module of this package.

Every kind implements :class:`~analytics.crm.actions.kinds.base.ActionKind`. Adding one is a
new module here and one line below; the queue, delivery, the CLI and the app pick it up.
"""

from __future__ import annotations

from analytics.core.errors import RevLensError
from analytics.crm.actions.kinds.add_to_list import AddToList
from analytics.crm.actions.kinds.base import ActionKind
from analytics.crm.actions.kinds.create_properties import CreateProperties
from analytics.crm.actions.kinds.create_task import CreateTask
from analytics.crm.actions.kinds.enroll_workflow import EnrollWorkflow
from analytics.crm.actions.kinds.update_company_properties import UpdateCompanyProperties
from analytics.crm.actions.kinds.update_deal_properties import UpdateDealProperties
from analytics.crm.actions.kinds.update_properties import UpdateContactProperties

KINDS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        UpdateContactProperties(),
        UpdateCompanyProperties(),
        UpdateDealProperties(),
        AddToList(),
        EnrollWorkflow(),
        CreateTask(),
        CreateProperties(),
    )
}


def kind_of(name: str) -> ActionKind:
    """The kind called ``name``; one sentence naming the known kinds when there is none."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise RevLensError(f"Unknown action kind {name!r}; use one of {', '.join(KINDS)}.") from None
