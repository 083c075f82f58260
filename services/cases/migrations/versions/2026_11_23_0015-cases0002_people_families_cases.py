"""people families cases

Revision ID: cases0002
Revises: cases0001
Create Date: 2026-11-23 00:15:50.409726
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'cases0002'
down_revision: str | None = 'cases0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('hubs',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_hubs'))
    )
    op.create_table('people',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('given_name', sa.Text(), nullable=False),
    sa.Column('family_name', sa.Text(), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('nhs_number', sa.Text(), nullable=True),
    sa.Column('upn', sa.Text(), nullable=True),
    sa.Column('postcode', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('given_key', sa.Text(), nullable=False),
    sa.Column('family_key', sa.Text(), nullable=False),
    sa.Column('merged_into_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['people.id'], name=op.f('fk_people_merged_into_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_index('ix_people_dob_family_key', 'people', ['date_of_birth', 'family_key'], unique=False)
    op.create_index('ix_people_merged_into_id', 'people', ['merged_into_id'], unique=False)
    op.create_index('ix_people_postcode_family_key', 'people', ['postcode', 'family_key'], unique=False)
    op.create_index('ix_people_postcode_given_key', 'people', ['postcode', 'given_key'], unique=False)
    op.create_index('uq_people_nhs_number', 'people', ['nhs_number'], unique=True, postgresql_where=sa.text('nhs_number IS NOT NULL'))
    op.create_index('uq_people_upn', 'people', ['upn'], unique=True, postgresql_where=sa.text('upn IS NOT NULL'))
    op.create_table('families',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('postcode', sa.Text(), nullable=True),
    sa.Column('hub', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['hub'], ['hubs.code'], name=op.f('fk_families_hub_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_families'))
    )
    op.create_index(op.f('ix_families_hub'), 'families', ['hub'], unique=False)
    op.create_index(op.f('ix_families_postcode'), 'families', ['postcode'], unique=False)
    op.create_table('person_merges',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('survivor_id', sa.UUID(), nullable=False),
    sa.Column('merged_id', sa.UUID(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('merged_by', sa.Text(), nullable=False),
    sa.Column('merged_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('moved', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sa.Text(), nullable=True),
    sa.Column('undo_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('survivor_id <> merged_id', name=op.f('ck_person_merges_distinct_people')),
    sa.ForeignKeyConstraint(['merged_id'], ['people.id'], name=op.f('fk_person_merges_merged_id_people')),
    sa.ForeignKeyConstraint(['survivor_id'], ['people.id'], name=op.f('fk_person_merges_survivor_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_merges'))
    )
    op.create_index(op.f('ix_person_merges_survivor_id'), 'person_merges', ['survivor_id'], unique=False)
    op.create_index('uq_person_merges_one_live', 'person_merges', ['merged_id'], unique=True, postgresql_where=sa.text('undone_at IS NULL'))
    op.create_table('teams',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('hub', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['hub'], ['hubs.code'], name=op.f('fk_teams_hub_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams'))
    )
    op.create_index(op.f('ix_teams_hub'), 'teams', ['hub'], unique=False)
    op.create_table('cases',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('family_id', sa.UUID(), nullable=False),
    sa.Column('hub', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='open', nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('opened_by', sa.Text(), nullable=False),
    sa.Column('referral_id', sa.UUID(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('closure_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL AND outcome IS NOT NULL)", name=op.f('ck_cases_closed_fields')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('needs_met', 'stepped_up', 'stepped_down', 'moved_away', 'disengaged', 'other')", name=op.f('ck_cases_outcome')),
    sa.CheckConstraint("status IN ('open', 'assessment', 'plan', 'review', 'closed')", name=op.f('ck_cases_status')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_cases_family_id_families')),
    sa.ForeignKeyConstraint(['hub'], ['hubs.code'], name=op.f('fk_cases_hub_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    op.create_index('ix_cases_family_id', 'cases', ['family_id'], unique=False)
    op.create_index('ix_cases_hub_status', 'cases', ['hub', 'status'], unique=False)
    op.create_index('uq_cases_one_open_per_family', 'cases', ['family_id'], unique=True, postgresql_where=sa.text("status <> 'closed'"))
    op.create_table('family_members',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('family_id', sa.UUID(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=True),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('expected_on', sa.Date(), nullable=True),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.Column('left_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("(role = 'unborn' AND expected_on IS NOT NULL) OR (role <> 'unborn' AND person_id IS NOT NULL)", name=op.f('ck_family_members_person_or_unborn')),
    sa.CheckConstraint("role IN ('parent_carer', 'child', 'young_person', 'other_adult', 'unborn')", name=op.f('ck_family_members_role')),
    sa.CheckConstraint('left_on IS NULL OR left_on >= joined_on', name=op.f('ck_family_members_left_after_joined')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_members_family_id_families')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_family_members_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_members'))
    )
    op.create_index(op.f('ix_family_members_family_id'), 'family_members', ['family_id'], unique=False)
    op.create_index('ix_family_members_person_id', 'family_members', ['person_id'], unique=False)
    op.create_index('uq_family_members_one_current', 'family_members', ['family_id', 'person_id'], unique=True, postgresql_where=sa.text('left_on IS NULL AND person_id IS NOT NULL'))
    op.create_table('family_relationships',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('family_id', sa.UUID(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('related_person_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.CheckConstraint('person_id <> related_person_id', name=op.f('ck_family_relationships_distinct_people')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_relationships_family_id_families')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_family_relationships_person_id_people')),
    sa.ForeignKeyConstraint(['related_person_id'], ['people.id'], name=op.f('fk_family_relationships_related_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_relationships')),
    sa.UniqueConstraint('family_id', 'person_id', 'related_person_id', 'kind', name='uq_family_relationships_pair')
    )
    op.create_index(op.f('ix_family_relationships_family_id'), 'family_relationships', ['family_id'], unique=False)
    op.create_table('workers',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('agency', sa.Text(), nullable=False),
    sa.Column('agency_type', sa.Text(), nullable=False),
    sa.Column('hub', sa.Text(), nullable=False),
    sa.Column('team_id', sa.UUID(), nullable=True),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('caseload_cap', sa.Integer(), server_default=sa.text('15'), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.CheckConstraint("role IN ('practitioner', 'hub_manager', 'partner_practitioner')", name=op.f('ck_workers_role')),
    sa.CheckConstraint('caseload_cap >= 0', name=op.f('ck_workers_caseload_cap_non_negative')),
    sa.ForeignKeyConstraint(['hub'], ['hubs.code'], name=op.f('fk_workers_hub_hubs')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_workers_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers')),
    sa.UniqueConstraint('subject', name=op.f('uq_workers_subject'))
    )
    op.create_index(op.f('ix_workers_hub'), 'workers', ['hub'], unique=False)
    op.create_index(op.f('ix_workers_team_id'), 'workers', ['team_id'], unique=False)
    op.create_table('assessments',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('framework', sa.Text(), nullable=False),
    sa.Column('framework_version', sa.Text(), nullable=False),
    sa.Column('needs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('need_codes', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('strengths', sa.Text(), nullable=True),
    sa.Column('family_views', sa.Text(), nullable=True),
    sa.Column('child_voice', sa.Text(), nullable=True),
    sa.Column('eligible', sa.Boolean(), nullable=False),
    sa.Column('eligibility_reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('assessed_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_assessments_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    op.create_index(op.f('ix_assessments_case_id'), 'assessments', ['case_id'], unique=False)
    op.create_table('case_referrals',
    sa.Column('referral_id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('joined', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_referrals_case_id_cases')),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_case_referrals'))
    )
    op.create_index(op.f('ix_case_referrals_case_id'), 'case_referrals', ['case_id'], unique=False)
    op.create_table('case_steps',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('direction', sa.Text(), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('agency', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.CheckConstraint("direction IN ('up', 'down')", name=op.f('ck_case_steps_direction')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_steps_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_steps'))
    )
    op.create_index(op.f('ix_case_steps_case_id'), 'case_steps', ['case_id'], unique=False)
    op.create_table('contacts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('sensitive', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('visit', 'call', 'meeting', 'message', 'other')", name=op.f('ck_contacts_kind')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_contacts_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    op.create_index('ix_contacts_case_id', 'contacts', ['case_id', 'occurred_at'], unique=False)
    op.create_table('lead_worker_assignments',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('worker_id', sa.UUID(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('assigned_by', sa.Text(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('cap_overridden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_lead_worker_assignments_case_id_cases')),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_lead_worker_assignments_worker_id_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_worker_assignments'))
    )
    op.create_index('ix_lead_worker_assignments_case_id', 'lead_worker_assignments', ['case_id', 'assigned_at'], unique=False)
    op.create_index('ix_lead_worker_assignments_current_worker', 'lead_worker_assignments', ['worker_id'], unique=False, postgresql_where=sa.text('ended_at IS NULL'))
    op.create_index('uq_lead_worker_assignments_one_current', 'lead_worker_assignments', ['case_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'))
    op.create_table('plans',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('goals', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('actions', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('team', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('review_dates', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('next_review_due', sa.Date(), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_plans_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('case_id', 'version', name='uq_plans_case_version')
    )
    op.create_index('uq_plans_one_active', 'plans', ['case_id'], unique=True, postgresql_where=sa.text('active'))
    op.create_table('reviews',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('next_review_due', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_reviews_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews'))
    )
    op.create_index(op.f('ix_reviews_case_id'), 'reviews', ['case_id'], unique=False)
    op.create_table('team_around_family',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('worker_id', sa.UUID(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_team_around_family_case_id_cases')),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_team_around_family_worker_id_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_around_family')),
    sa.UniqueConstraint('case_id', 'worker_id', name='uq_team_around_family_case_worker')
    )
    op.create_index(op.f('ix_team_around_family_worker_id'), 'team_around_family', ['worker_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_team_around_family_worker_id'), table_name='team_around_family')
    op.drop_table('team_around_family')
    op.drop_index(op.f('ix_reviews_case_id'), table_name='reviews')
    op.drop_table('reviews')
    op.drop_index('uq_plans_one_active', table_name='plans', postgresql_where=sa.text('active'))
    op.drop_table('plans')
    op.drop_index('uq_lead_worker_assignments_one_current', table_name='lead_worker_assignments', postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_index('ix_lead_worker_assignments_current_worker', table_name='lead_worker_assignments', postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_index('ix_lead_worker_assignments_case_id', table_name='lead_worker_assignments')
    op.drop_table('lead_worker_assignments')
    op.drop_index('ix_contacts_case_id', table_name='contacts')
    op.drop_table('contacts')
    op.drop_index(op.f('ix_case_steps_case_id'), table_name='case_steps')
    op.drop_table('case_steps')
    op.drop_index(op.f('ix_case_referrals_case_id'), table_name='case_referrals')
    op.drop_table('case_referrals')
    op.drop_index(op.f('ix_assessments_case_id'), table_name='assessments')
    op.drop_table('assessments')
    op.drop_index(op.f('ix_workers_team_id'), table_name='workers')
    op.drop_index(op.f('ix_workers_hub'), table_name='workers')
    op.drop_table('workers')
    op.drop_index(op.f('ix_family_relationships_family_id'), table_name='family_relationships')
    op.drop_table('family_relationships')
    op.drop_index('uq_family_members_one_current', table_name='family_members', postgresql_where=sa.text('left_on IS NULL AND person_id IS NOT NULL'))
    op.drop_index('ix_family_members_person_id', table_name='family_members')
    op.drop_index(op.f('ix_family_members_family_id'), table_name='family_members')
    op.drop_table('family_members')
    op.drop_index('uq_cases_one_open_per_family', table_name='cases', postgresql_where=sa.text("status <> 'closed'"))
    op.drop_index('ix_cases_hub_status', table_name='cases')
    op.drop_index('ix_cases_family_id', table_name='cases')
    op.drop_table('cases')
    op.drop_index(op.f('ix_teams_hub'), table_name='teams')
    op.drop_table('teams')
    op.drop_index('uq_person_merges_one_live', table_name='person_merges', postgresql_where=sa.text('undone_at IS NULL'))
    op.drop_index(op.f('ix_person_merges_survivor_id'), table_name='person_merges')
    op.drop_table('person_merges')
    op.drop_index(op.f('ix_families_postcode'), table_name='families')
    op.drop_index(op.f('ix_families_hub'), table_name='families')
    op.drop_table('families')
    op.drop_index('uq_people_upn', table_name='people', postgresql_where=sa.text('upn IS NOT NULL'))
    op.drop_index('uq_people_nhs_number', table_name='people', postgresql_where=sa.text('nhs_number IS NOT NULL'))
    op.drop_index('ix_people_postcode_given_key', table_name='people')
    op.drop_index('ix_people_postcode_family_key', table_name='people')
    op.drop_index('ix_people_merged_into_id', table_name='people')
    op.drop_index('ix_people_dob_family_key', table_name='people')
    op.drop_table('people')
    op.drop_table('hubs')
