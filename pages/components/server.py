"""Start the Streamlit server with the pages-folder mode off (``python app.py``, ``python -m analytics app``).

Streamlit starts in its old pages-folder mode while a ``pages/`` folder exists beside the
entrypoint, and in that mode a shared link to a page (``/roi?...``) opened by the server's
first visitor shows "page not found" before the app recovers
(:func:`pages.components.navigation.leave_pages_folder_mode`). Started here, the mode is
off before the first session.
"""

from __future__ import annotations

from pathlib import Path


def serve(app_script: Path, port: int = 8501, address: str = "127.0.0.1", headless: bool = True) -> None:
    """Run the server for ``app_script`` until it is stopped, as ``streamlit run`` would."""
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import bootstrap

    PagesManager.uses_pages_directory = False
    flags = {
        "server_port": port,
        "server_address": address,
        "server_headless": headless,
        "browser_gatherUsageStats": False,
    }
    config._main_script_path = str(app_script)  # as `streamlit run` does: .streamlit/ is found beside it
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(app_script), False, [], flags)
