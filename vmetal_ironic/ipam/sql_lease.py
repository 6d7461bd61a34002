"""Leases in SQL: take, renew and finish a term with conditional UPDATEs.

Each function runs inside one write transaction of
:meth:`vmetal_ironic.db.api.Database.write`. Taking a lease is one UPDATE
whose WHERE clause says "free, expired or already mine": the database
decides who wins. On PostgreSQL and MySQL (READ COMMITTED) a concurrent
taker waits for the winner's row lock and then re-checks the WHERE clause
on the committed row, which is no longer expired, so it updates nothing;
on SQLite write transactions are serialised (``BEGIN IMMEDIATE``).
"""

import sqlalchemy as sa

from vmetal_ironic.db import models

Lease = models.LeaseRecord


def take(session, name, holder, now, expires_at):
    """Take or renew lease ``name`` for ``holder`` until ``expires_at``.

    :returns: True if ``holder`` holds the lease now (a new term: ``runs``
        is counted up), False if another holder's term has not expired.
    """
    won = session.execute(
        sa.update(Lease)
        .where(Lease.name == name,
               sa.or_(Lease.holder.is_(None), Lease.holder == holder,
                      Lease.expires_at.is_(None), Lease.expires_at <= now))
        # MySQL evaluates SET left to right: taken_at before holder.
        .ordered_values(
            (Lease.taken_at, sa.case((Lease.holder == holder,
                                      Lease.taken_at), else_=now)),
            (Lease.holder, holder), (Lease.expires_at, expires_at),
            (Lease.runs, Lease.runs + 1))
        .execution_options(synchronize_session=False)).rowcount
    if won:
        return True
    exists = session.execute(sa.select(Lease.name).where(
        Lease.name == name)).first()
    if exists is not None:
        return False
    # A lease the migrations did not create: the first taker inserts it (a
    # concurrent insert is a uniqueness conflict: the transaction is run
    # again and then finds the row).
    session.add(Lease(name=name, holder=holder, taken_at=now,
                      expires_at=expires_at, runs=1, last_released=0))
    session.flush()
    return True


def finish(session, name, holder, now, expires_at, released):
    """Record the end of ``holder``'s run and extend its term.

    :returns: False if the lease was taken over meanwhile (nothing is
        written then).
    """
    return bool(session.execute(
        sa.update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(finished_at=now, expires_at=expires_at,
                last_released=released)
        .execution_options(synchronize_session=False)).rowcount)


def extend(session, name, holder, expires_at):
    """Move the end of ``holder``'s term; False if it is not the holder."""
    return bool(session.execute(
        sa.update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=expires_at)
        .execution_options(synchronize_session=False)).rowcount)


def give_up(session, name, holder, now):
    """End ``holder``'s term now (a conductor that stops cleanly)."""
    return extend(session, name, holder, now)


def get(session, name):
    """The lease row ``name`` as a dict, or None."""
    row = session.execute(sa.select(Lease).where(
        Lease.name == name)).scalar_one_or_none()
    if row is None:
        return None
    return {'name': row.name, 'holder': row.holder,
            'taken_at': row.taken_at, 'expires_at': row.expires_at,
            'runs': int(row.runs), 'finished_at': row.finished_at,
            'last_released': int(row.last_released)}
