"""What the pages share (not pages themselves).

- :mod:`~pages.components.cache`: the app's read-only warehouse and ``cached(func, **params)``;
- :mod:`~pages.components.filters`: the filter bar (dates, segments, channels, kept in the URL);
- :mod:`~pages.components.navigation`: :data:`~pages.components.navigation.NAVIGATION` and deep links;
- :mod:`~pages.components.downloads`: CSV downloads;
- :mod:`~pages.components.actions`: the preview/confirm/queue dialog of a write-back, the delivery worker;
- :mod:`~pages.components.server`: starting the server with the old pages-folder mode off.
"""
