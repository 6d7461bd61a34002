"""One owner of the pools: record them, read them, report drift.

Mixed into :class:`~vmetal_ironic.ipam.manager.IPAMManager`. The pools a
manager works on are the recorded ones (read once per process, again when
a sync elsewhere changed them); :meth:`PoolOwnership.sync_pools` is the
one writer; a configuration that differs is reported once.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log

from vmetal_ironic import exception
from vmetal_ironic.i18n import _
from vmetal_ironic.ipam import pools as pools_mod
from vmetal_ironic.ipam import recorded as recorded_mod
from vmetal_ironic.ipam import sql_pools

LOG = log.getLogger(__name__)


class PoolOwnership:
    """Pool recording and reading of the manager."""

    # Provided by the manager.
    _read: Any
    _write: Any
    _group: Any
    _lock: Any
    _manage: bool | None
    _effective: pools_mod.PoolConfig | None
    _pools_generation: int | None
    _warned_drift: bool
    _pool_config: pools_mod.PoolConfig | None
    conf: Any

    @property
    def pool_config(self) -> pools_mod.PoolConfig:
        """The validated pools of this process's configuration (read once).

        What :meth:`sync_pools` records and :meth:`pool_drift` compares;
        the other methods work on the recorded pools.
        """
        if self._pool_config is None:
            self._pool_config = pools_mod.load_pools(self.conf)
        return self._pool_config

    def sync_pools(self) -> list[str]:
        """Record the configured pools (the one writer of the pool table).

        :returns: the names of the pools written (empty: all in place).
        :raises: ConfigError when no pool is configured (that would retire
            every recorded pool), PoolConfigError.
        """
        config = self.pool_config
        if not config.pools:
            raise exception.ConfigError(
                reason=_('[vmetal_ipam]pools is empty: refusing to retire '
                         'every recorded pool'))
        written = self._write(
            lambda s, now: sql_pools.sync(s, config.pools, now))
        with self._lock:
            self._effective = None
        return written

    def pool_drift(self) -> list[recorded_mod.Drift]:
        """How this process's pool configuration differs from the DB's."""
        recorded = self._read(sql_pools.recorded)
        return recorded_mod.drift(self.pool_config, recorded)

    @property
    def pools(self) -> pools_mod.PoolConfig:
        """The recorded pools in service, as validated specs."""
        if self._effective is None:
            if self._manage is None:
                self._manage = self._group.manage_pools
            if self._manage and self.pool_config.pools:
                self._manage = False
                self.sync_pools()
            self._load_pools(self._read(sql_pools.recorded))
        assert self._effective is not None
        return self._effective

    def _load_pools(self, recorded: dict[str, dict[str, Any]]) -> None:
        configured = self.pool_config
        drift = recorded_mod.drift(configured, recorded)
        if drift and configured.pools and not self._warned_drift:
            self._warned_drift = True
            LOG.warning('The IPAM pools configured here differ from the '
                        'pools recorded in the database; using the '
                        'database\'s (record these with "vmetal-ipam pool '
                        'sync"): %s', '; '.join(map(str, drift)))
        specs = []
        for name, values in recorded.items():
            if values.get('ranges') is None and name in (
                    configured.pools_by_name):
                # Recorded before ranges were: the configuration's.
                specs.append(configured.get(name))
            else:
                specs.append(recorded_mod.spec_of(name, values))
        defaults = tuple(n for n in configured.default_pools
                         or (configured.default_pool,) if n in recorded)
        self._effective = pools_mod.PoolConfig(
            pools=tuple(specs), default_pool=defaults[0] if defaults else None,
            default_pools=defaults)
        self._pools_generation = max(
            [v['generation'] for v in recorded.values()] or [0])

    def _pools_seen(self, generation: int) -> None:
        """Reload the pools when a sync elsewhere changed them."""
        if self._effective is not None and (
                generation != self._pools_generation):
            self._load_pools(self._read(sql_pools.recorded))
