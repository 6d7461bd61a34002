"""The boot profile is stored once per node; pools record their ranges.

Each node's profile moves from its reservations into
``vmetal_boot_profiles`` (the profile of its most recently changed live
reservation wins) and ``vmetal_reservations.boot_profile`` is dropped.
Only the fields of :class:`vmetal_ironic.boot_profile.BootProfile` are
kept: the IPv6 keys and the verbatim option list were never read.

``vmetal_pools`` gets ``ranges`` and ``exclude`` so that every process
can work on the recorded pools, whatever its own configuration says; the
next pool sync (``vmetal-dbsync upgrade``) fills them for existing pools.

Revision ID: 0002_node_boot_profiles
Revises: 0001_initial
Create Date: 2026-11-25
"""

import datetime
import json

from alembic import op
import sqlalchemy as sa

revision = '0002_node_boot_profiles'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

_FIELDS = ('bootfile', 'ipxe_script_url', 'http_boot_url', 'tftp_server')


def _profiles(connection):
    reservations = sa.table(
        'vmetal_reservations', sa.column('node_uuid', sa.String),
        sa.column('boot_profile', sa.Text),
        sa.column('deleted', sa.Boolean),
        sa.column('generation', sa.BigInteger))
    rows = connection.execute(
        sa.select(reservations.c.node_uuid, reservations.c.boot_profile)
        .where(reservations.c.deleted.is_(False),
               reservations.c.node_uuid.is_not(None))
        .order_by(reservations.c.generation)).all()
    result = {}
    for node_uuid, text in rows:
        try:
            stored = json.loads(text or '{}')
        except ValueError:
            continue
        if not isinstance(stored, dict):
            continue
        profile = {k: stored[k] for k in _FIELDS
                   if isinstance(stored.get(k), str) and stored[k]}
        if profile:
            result[node_uuid] = profile
    return result


def upgrade():
    connection = op.get_bind()
    profiles = _profiles(connection)
    table = op.create_table(
        'vmetal_boot_profiles',
        sa.Column('node_uuid', sa.String(36), primary_key=True),
        sa.Column('profile', sa.Text, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if profiles:
        op.bulk_insert(table, [
            {'node_uuid': node, 'updated_at': now,
             'profile': json.dumps(profile, sort_keys=True)}
            for node, profile in sorted(profiles.items())])
    with op.batch_alter_table('vmetal_reservations') as batch:
        batch.drop_column('boot_profile')
    with op.batch_alter_table('vmetal_pools') as batch:
        batch.add_column(sa.Column('ranges', sa.Text, nullable=True))
        batch.add_column(sa.Column('exclude', sa.Text, nullable=True))
