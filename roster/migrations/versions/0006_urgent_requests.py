"""quorum: urgent requests (a wider first wave, texted and called at once)

Revision ID: 0006_urgent_requests
Revises: 0005_early_status
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_urgent_requests'
down_revision = '0005_early_status'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('quorumrequest', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('quorumrequest', schema=None) as batch_op:
        batch_op.drop_column('urgent')
