"""quorum: early delivery statuses

Revision ID: 0005_early_status
Revises: 0004_merge
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import roster.timeutil


revision = '0005_early_status'
down_revision = '0004_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('earlystatus',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('received_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_sid')
    )
    with op.batch_alter_table('earlystatus', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_earlystatus_received_at'), ['received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('earlystatus', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_earlystatus_received_at'))

    op.drop_table('earlystatus')
