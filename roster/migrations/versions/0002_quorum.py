"""reflective quorum: requests, invitations, outbox, inbound replies, events

Revision ID: 0002_quorum
Revises: 0001_initial
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import roster.timeutil


revision = '0002_quorum'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quorumrequest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('need', sa.Integer(), nullable=False),
    sa.Column('need_metateam', sa.Integer(), nullable=False),
    sa.Column('skills', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('deadline_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('formed_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_step', sa.Text(), nullable=True),
    sa.Column('conference_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['requester_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quorumrequest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quorumrequest_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_quorumrequest_state_deadline', ['state', 'deadline_at'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voice_called_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('error_text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('help_sent', sa.Boolean(), nullable=False),
    sa.Column('reason_picked', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['quorumrequest.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'person_id', name='uq_invitation_request_person')
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_person_state', ['person_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_state'), ['state'], unique=False)

    op.create_table('quorumevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['quorumrequest.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quorumevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quorumevent_request_id'), ['request_id'], unique=False)

    op.create_table('inboundmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_sid', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('from_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('understood', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_sid')
    )
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboundmessage_from_phone'), ['from_phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboundmessage_invitation_id'), ['invitation_id'], unique=False)

    op.create_table('outboundmessage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('to_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('provider_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('error_text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('claimed_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['quorumrequest.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_sid')
    )
    with op.batch_alter_table('outboundmessage', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboundmessage_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outboundmessage_request_id'), ['request_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outboundmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outboundmessage_request_id'))
        batch_op.drop_index(batch_op.f('ix_outboundmessage_invitation_id'))
        batch_op.drop_index('ix_outbound_status_created')

    op.drop_table('outboundmessage')
    with op.batch_alter_table('inboundmessage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboundmessage_invitation_id'))
        batch_op.drop_index(batch_op.f('ix_inboundmessage_from_phone'))

    op.drop_table('inboundmessage')
    with op.batch_alter_table('quorumevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quorumevent_request_id'))

    op.drop_table('quorumevent')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_state'))
        batch_op.drop_index(batch_op.f('ix_invitation_request_id'))
        batch_op.drop_index('ix_invitation_person_state')

    op.drop_table('invitation')
    with op.batch_alter_table('quorumrequest', schema=None) as batch_op:
        batch_op.drop_index('ix_quorumrequest_state_deadline')
        batch_op.drop_index(batch_op.f('ix_quorumrequest_requester_id'))

    op.drop_table('quorumrequest')
