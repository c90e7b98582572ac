"""The one exception type for mistakes a user can fix.

Its message is a whole sentence: what is wrong, where, and how to fix it. The CLI
prints it and exits non-zero; pages show it with ``st.error``.
"""


class RevLensError(Exception):
    """A user-fixable problem, with a message that says what to do."""
