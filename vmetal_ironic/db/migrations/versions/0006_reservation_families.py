"""Reservations per (MAC, IP version): dual-stack nodes.

``vmetal_reservations`` gets ``ip_version`` (4 or 6, the family of the
reserved address) and its unique key becomes (mac, ip_version), so that
one port holds an IPv4 reservation (served over DHCPv4) and an IPv6 one
(served over DHCPv6). Existing rows keep their data: a row whose address
is an IPv6 address becomes version 6, every other row version 4.
Generations and tombstones are untouched.

Revision ID: 0006_reservation_families
Revises: 0005_leases
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa

revision = '0006_reservation_families'
down_revision = '0005_leases'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('vmetal_reservations') as batch:
        batch.add_column(sa.Column('ip_version', sa.SmallInteger,
                                   nullable=False, server_default='4'))
    reservations = sa.table('vmetal_reservations',
                            sa.column('address', sa.String),
                            sa.column('ip_version', sa.SmallInteger))
    op.execute(reservations.update()
               .where(reservations.c.address.like('%:%'))
               .values(ip_version=6))
    with op.batch_alter_table('vmetal_reservations') as batch:
        batch.drop_constraint('uniq_vmetal_reservations0mac',
                              type_='unique')
        batch.create_unique_constraint(
            'uniq_vmetal_reservations0mac_version', ['mac', 'ip_version'])
