"""The app's pages, grouped by role; ``app.py`` builds ``st.navigation`` from it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

# The app's pages by role. A group with no page is not shown; tests parametrize over this.
NAVIGATION: dict[str, list[tuple[str, str, str]]] = {
    "Marketing": [
        ("pages/marketing/overview.py", "Overview", ":material/dashboard:"),
        ("pages/marketing/attribution.py", "Attribution", ":material/account_tree:"),
        ("pages/marketing/leads.py", "Leads", ":material/person_search:"),
        ("pages/marketing/feedback.py", "Feedback", ":material/reviews:"),
    ],
    "Sales": [
        ("pages/sales/routing.py", "Routing", ":material/alt_route:"),
    ],
    "Finance": [
        ("pages/finance/roi.py", "ROI", ":material/paid:"),
        ("pages/finance/budget.py", "Budget", ":material/savings:"),
    ],
    "Customer Success": [
        ("pages/customer_success/health.py", "Health", ":material/monitor_heart:"),
        ("pages/customer_success/adoption.py", "Adoption", ":material/trending_up:"),
    ],
    "Operations": [
        ("pages/operations/data.py", "Data", ":material/database:"),
        ("pages/operations/imports.py", "Import", ":material/upload_file:"),
        ("pages/operations/actions.py", "Actions", ":material/outbox:"),
        ("pages/operations/system.py", "System", ":material/schedule:"),
    ],
    "Help": [
        ("pages/help/about.py", "About RevLens", ":material/help:"),
    ],
}

# Groups whose pages show every row: no filter bar above them.
UNFILTERED_GROUPS = ("Operations", "Help")

ICON = ":material/insights:"  # the app's favicon and logo
ABOUT = (
    "**RevLens** joins marketing data with sales, product, customer success and finance: attribution, "
    "campaign ROI, lead scoring and routing, write-back to HubSpot. The documentation is in the app "
    "(menu **Help → About RevLens**) and in the `docs/` folder of the project."
)


def page_paths() -> list[str]:
    return [path for pages in NAVIGATION.values() for path, _, _ in pages]


def url_path(page_file: str) -> str:
    """A page's address: its file name without the folder (``/attribution``, ``/roi``)."""
    return Path(page_file).stem


_DEEP_LINK = "deep_link"


def leave_pages_folder_mode() -> None:
    """Make a deep link (``/roi?channel=email``) opened first in a fresh server land on its page.

    Streamlit 1.67 starts in its old pages-folder mode because a ``pages/`` folder exists;
    only ``st.navigation`` turns the mode off, and in that mode the linked page is not found.
    On that first run (before anything is drawn): turn the mode off, remember the linked
    page, rerun through the entrypoint, and :func:`follow_deep_link` opens it.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        address = st.context.url or ""
        st.session_state[_DEEP_LINK] = (address.rstrip("/").rsplit("/", 1)[-1], st.query_params.to_dict())
        st.rerun()


def follow_deep_link(current, pages_by_url: dict) -> None:
    """After :func:`leave_pages_folder_mode`'s rerun: restore the link's filters and open its page.

    Call it after ``st.navigation`` (``current`` is the page it chose); ``pages_by_url`` maps
    each :func:`url_path` to its ``st.Page``.
    """
    link = st.session_state.pop(_DEEP_LINK, None)
    if not link:
        return
    name, params = link
    target = pages_by_url.get(name)
    if target is not None and target is not current:
        st.switch_page(target, query_params=params)
    st.query_params.from_dict(params)
