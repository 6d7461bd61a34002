"""A database opened, and its schema checked, on first use.

The DHCP agent's readers (:class:`~vmetal_ironic.ipam.feed.ReservationFeed`,
:class:`~vmetal_ironic.ipam.discovery.DiscoveryLeases`) are built at
start-up, before the database may be reachable; they open it when first
asked and refuse a schema that is not current
(:func:`~vmetal_ironic.db.migration.check`).
"""

from __future__ import annotations

import threading
from typing import Any

from vmetal_ironic.db import api as db_api
from vmetal_ironic.db import migration


class LazyDatabase:
    """Open ``url`` (or ``conf``'s ``[vmetal_database]``) on first use.

    :param conf: a ConfigOpts with ``[vmetal_database]`` registered; or
    :param url: a SQLAlchemy URL (wins over ``conf``);
    :param database: an open Database (tests);
    :param url_retries: ``max_retries`` of a database opened from ``url``
        (None: the Database default);
    :param conf_retries: ``max_retries`` of one opened from ``conf``.
    """

    def __init__(self, conf: Any = None, url: str | None = None,
                 database: db_api.Database | None = None,
                 url_retries: int | None = None,
                 conf_retries: int | None = None) -> None:
        self._conf = conf
        self._url = url
        self._database = database
        self._url_retries = url_retries
        self._conf_retries = conf_retries
        self._checked = False
        self._lock = threading.Lock()

    def get(self) -> db_api.Database:
        """The database, opened and its schema checked once.

        :raises: StoreError, SchemaNotCurrent.
        """
        with self._lock:
            if self._database is None:
                if self._url is not None:
                    if self._url_retries is None:
                        self._database = db_api.Database(self._url)
                    else:
                        self._database = db_api.Database(
                            self._url, max_retries=self._url_retries)
                else:
                    self._database = db_api.Database.from_conf(
                        self._conf, max_retries=self._conf_retries)
            if not self._checked:
                migration.check(self._database.reader)
                self._checked = True
            return self._database

    def dispose(self) -> None:
        """Close the connections (the database may be used again)."""
        with self._lock:
            if self._database is not None:
                self._database.dispose()
