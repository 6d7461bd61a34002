"""The store's full Database, opened and its schema checked on first use.

For the DHCP agent's one write path (discovery leases) and its rare reads
(pool gauges): oslo.db transactions, retried writes. The agent's readers
are built at start-up, before the database may be reachable; this opens
it when first asked and refuses a schema that is not current
(:func:`~vmetal_ironic.db.checks.check_schema`). The feed's reads go
through the lighter :class:`~vmetal_ironic.db.lazy.LazyReader`.
"""

from __future__ import annotations

import threading
from typing import Any

from vmetal_ironic.db import checks


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
                 database: Any = None,
                 url_retries: int | None = None,
                 conf_retries: int | None = None) -> None:
        self._conf = conf
        self._url = url
        self._database = database
        self._url_retries = url_retries
        self._conf_retries = conf_retries
        self._checked = False
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The :class:`~vmetal_ironic.db.api.Database`, checked once.

        oslo.db is imported here, on first use.

        :raises: StoreError, SchemaNotCurrent.
        """
        with self._lock:
            if self._database is None:
                from vmetal_ironic.db import api as db_api
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
                from oslo_db import exception as db_exc
                import sqlalchemy as sa

                try:
                    checks.check_engine(self._database.reader)
                except (sa.exc.SQLAlchemyError, db_exc.DBError) as exc:
                    raise checks.store_error(self._database.safe_url, exc)
                self._checked = True
            return self._database

    def dispose(self) -> None:
        """Close the connections (the database may be used again)."""
        with self._lock:
            if self._database is not None:
                self._database.dispose()
