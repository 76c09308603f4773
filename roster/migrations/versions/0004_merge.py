"""merge quorum and supervision

Revision ID: 0004_merge
Revises: 0002_quorum, 0003_supervision
Create Date: 2026-11-22
"""


revision = '0004_merge'
down_revision = ('0002_quorum', '0003_supervision')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
