"""supervision: agreements, group series, sessions, case reviews, calendar feed tokens

Revision ID: 0003_supervision
Revises: 0001_initial
Create Date: 2026-11-22
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import sqlmodel
import roster.timeutil


revision = '0003_supervision'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervisionplanstate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('holiday_region', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('calendarfeedtoken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(person_id IS NULL) <> (team_id IS NULL)', name='ck_feed_token_one_subject'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('calendarfeedtoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendarfeedtoken_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendarfeedtoken_team_id'), ['team_id'], unique=False)

    op.create_table('supervisionagreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('supervisee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('venue', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['supervisee_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['supervisor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('supervisionagreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisionagreement_supervisee_id'), ['supervisee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervisionagreement_supervisor_id'), ['supervisor_id'], unique=False)

    op.create_table('supervisiongroup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('venue', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('cases_per_session', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chair_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('supervisiongroup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisiongroup_chair_id'), ['chair_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervisiongroup_team_id'), ['team_id'], unique=False)

    op.create_table('supervisiongroupmember',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['supervisiongroup.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'person_id')
    )
    with op.batch_alter_table('supervisiongroupmember', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisiongroupmember_person_id'), ['person_id'], unique=False)

    op.create_table('supervisionsession',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('venue', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('rebook_of_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', roster.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(agreement_id IS NULL) <> (group_id IS NULL)', name='ck_session_one_series'),
    sa.ForeignKeyConstraint(['agreement_id'], ['supervisionagreement.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['supervisiongroup.id'], ),
    sa.ForeignKeyConstraint(['rebook_of_id'], ['supervisionsession.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('supervisionsession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervisionsession_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervisionsession_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervisionsession_rebook_of_id'), ['rebook_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervisionsession_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervisionsession_status'), ['status'], unique=False)

    op.create_table('casereview',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['supervisionsession.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('casereview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casereview_case_id'), ['case_id'], unique=False)

    op.create_table('groupcaseitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('queued_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['supervisiongroup.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['supervisionsession.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('groupcaseitem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_groupcaseitem_group_id'), ['group_id'], unique=False)

    op.bulk_insert(
        sa.table('supervisionplanstate', sa.column('id', sa.Integer()), sa.column('version', sa.Integer()),
                 sa.column('changed_at', roster.timeutil.UTCDateTime()), sa.column('holiday_region', sa.String())),
        [{'id': 1, 'version': 0, 'changed_at': datetime(1970, 1, 1, tzinfo=timezone.utc), 'holiday_region': 'england-and-wales'}],
    )


def downgrade() -> None:
    with op.batch_alter_table('groupcaseitem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_groupcaseitem_group_id'))

    op.drop_table('groupcaseitem')
    with op.batch_alter_table('casereview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_casereview_case_id'))

    op.drop_table('casereview')
    with op.batch_alter_table('supervisionsession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisionsession_status'))
        batch_op.drop_index(batch_op.f('ix_supervisionsession_starts_at'))
        batch_op.drop_index(batch_op.f('ix_supervisionsession_rebook_of_id'))
        batch_op.drop_index(batch_op.f('ix_supervisionsession_group_id'))
        batch_op.drop_index(batch_op.f('ix_supervisionsession_agreement_id'))

    op.drop_table('supervisionsession')
    with op.batch_alter_table('supervisiongroupmember', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisiongroupmember_person_id'))

    op.drop_table('supervisiongroupmember')
    with op.batch_alter_table('supervisiongroup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisiongroup_team_id'))
        batch_op.drop_index(batch_op.f('ix_supervisiongroup_chair_id'))

    op.drop_table('supervisiongroup')
    with op.batch_alter_table('supervisionagreement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervisionagreement_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_supervisionagreement_supervisee_id'))

    op.drop_table('supervisionagreement')
    with op.batch_alter_table('calendarfeedtoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendarfeedtoken_team_id'))
        batch_op.drop_index(batch_op.f('ix_calendarfeedtoken_person_id'))

    op.drop_table('calendarfeedtoken')
    op.drop_table('supervisionplanstate')
