"""The app's pages, one file per page, grouped by the role that opens them.

``app.py`` builds ``st.navigation`` from :data:`pages.components.navigation.NAVIGATION`; a page
is thin (filters, cached analytics calls, charts, tables, downloads, actions) and runs as a
script, top to bottom. Helpers that are not pages live in :mod:`pages.components`.
"""
