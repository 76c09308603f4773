"""initial roster

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import roster.timeutil


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_reference'), ['reference'], unique=True)

    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('employment', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('practice_stage', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('stage_date', sa.Date(), nullable=True),
    sa.Column('line_manager_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sms_opt_out', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['line_manager_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_phone'), ['phone'], unique=True)
        batch_op.create_index(batch_op.f('ix_person_role'), ['role'], unique=False)

    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('availabilitywindow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('starts_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('created_at', roster.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('availabilitywindow', schema=None) as batch_op:
        batch_op.create_index('ix_window_person_span', ['person_id', 'starts_at', 'ends_at'], unique=False)

    op.create_table('caseinvolvement',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', 'person_id')
    )
    with op.batch_alter_table('caseinvolvement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caseinvolvement_person_id'), ['person_id'], unique=False)

    op.create_table('metateamconsent',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('max_per_week', sa.Integer(), nullable=False),
    sa.Column('contact_from', sa.Time(), nullable=False),
    sa.Column('contact_until', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('personskill',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('skill', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'skill')
    )
    with op.batch_alter_table('personskill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personskill_skill'), ['skill'], unique=False)

    op.create_table('rotashift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rotashift', schema=None) as batch_op:
        batch_op.create_index('ix_rota_weekday_start', ['weekday', 'start_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotashift_person_id'), ['person_id'], unique=False)

    op.create_table('teammembership',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'person_id')
    )
    with op.batch_alter_table('teammembership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teammembership_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('teammembership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teammembership_person_id'))

    op.drop_table('teammembership')
    with op.batch_alter_table('rotashift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotashift_person_id'))
        batch_op.drop_index('ix_rota_weekday_start')

    op.drop_table('rotashift')
    with op.batch_alter_table('personskill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personskill_skill'))

    op.drop_table('personskill')
    op.drop_table('metateamconsent')
    with op.batch_alter_table('caseinvolvement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caseinvolvement_person_id'))

    op.drop_table('caseinvolvement')
    with op.batch_alter_table('availabilitywindow', schema=None) as batch_op:
        batch_op.drop_index('ix_window_person_span')

    op.drop_table('availabilitywindow')
    op.drop_table('team')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_role'))
        batch_op.drop_index(batch_op.f('ix_person_phone'))
        batch_op.drop_index(batch_op.f('ix_person_active'))

    op.drop_table('person')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_reference'))

    op.drop_table('case')
