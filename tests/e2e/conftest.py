"""Every e2e test may ask for the app's ``server`` and a Chromium ``page`` (defined in tests/e2e/browser.py)."""

from tests.e2e.browser import page, server  # noqa: F401  (fixtures)
