"""Staff roles and what each may do: the single place this mapping lives.

docs/ROLES.md is generated from this table (`python manage.py roles_table`), and a
test fails when the two disagree.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    PROGRAM_DIRECTOR = "program_director", "Program director"
    PRESCRIBER = "prescriber", "Prescriber (psychiatrist or nurse practitioner)"
    THERAPIST = "therapist", "Therapist"
    COUNSELOR = "counselor", "Counselor"
    NURSE = "nurse", "Nurse"
    CASE_MANAGER = "case_manager", "Case manager"
    INTAKE_COORDINATOR = "intake_coordinator", "Intake coordinator"
    BILLING_SPECIALIST = "billing_specialist", "Billing specialist"
    FRONT_DESK = "front_desk", "Front desk"
    AUDITOR = "auditor", "Auditor (read-only)"
    SYSTEM_ADMIN = "system_admin", "System administrator"


class Perm(StrEnum):
    PATIENT_VIEW = "patient.view"
    PATIENT_REGISTER = "patient.register"
    PATIENT_EDIT = "patient.edit"
    COVERAGE_EDIT = "coverage.edit"
    EPISODE_MANAGE = "episode.manage"
    BREAK_GLASS = "patient.break_glass"
    ORG_MANAGE = "org.manage"
    AUDIT_VIEW = "audit.view"
    DIRECTOR_DASHBOARD = "dashboard.director"
    ADMIN_SITE = "admin.site"
    ALERT_RESOLVE = "alert.resolve"
    REFERRAL_MANAGE = "referral.manage"
    SCREENING_ADMINISTER = "screening.administer"
    ASSESSMENT_WRITE = "assessment.write"
    CONSENT_MANAGE = "consent.manage"
    ADMIT = "episode.admit"
    SCHEDULE_MANAGE = "schedule.manage"
    SCHEDULE_CONFIGURE = "schedule.configure"
    ATTENDANCE_RECORD = "attendance.record"
    ATTENDANCE_CHECKIN = "attendance.checkin"
    ATTENDANCE_REPORT = "attendance.report"
    NOTE_VIEW = "note.view"
    NOTE_WRITE = "note.write"
    NOTE_COSIGN = "note.cosign"
    PLAN_WRITE = "plan.write"


PERM_DESCRIPTIONS: dict[Perm, str] = {
    Perm.PATIENT_VIEW: "Open charts and search patients in own programs",
    Perm.PATIENT_REGISTER: "Register new patients",
    Perm.PATIENT_EDIT: "Update demographics and contacts",
    Perm.COVERAGE_EDIT: "Add and update insurance coverage",
    Perm.EPISODE_MANAGE: "Open episodes, change status, level of care and care team",
    Perm.BREAK_GLASS: "Emergency access to a patient outside own programs (reason, time-limited)",
    Perm.ORG_MANAGE: "Manage sites, programs, payers and staff accounts",
    Perm.AUDIT_VIEW: "Read and export the audit trail",
    Perm.DIRECTOR_DASHBOARD: "Program director dashboard",
    Perm.ADMIN_SITE: "Django admin (configuration only; no patient data is registered there)",
    Perm.ALERT_RESOLVE: "Resolve clinical alerts (suicide risk, disengagement) with a note",
    Perm.REFERRAL_MANAGE: "Record referrals, move them through the pipeline, log contact attempts",
    Perm.SCREENING_ADMINISTER: "Administer standardized instruments and record risk responses",
    Perm.ASSESSMENT_WRITE: "Biopsychosocial, diagnoses, level-of-care assessments, safety plans",
    Perm.CONSENT_MANAGE: "Record consents and releases, signatures and revocations",
    Perm.ADMIT: "Admit a patient (episode to active), record observation visits",
    Perm.SCHEDULE_MANAGE: "Enrol in tracks; book, cancel, reschedule sessions and appointments",
    Perm.SCHEDULE_CONFIGURE: "Set up rooms, tracks, curriculum, weekly templates and closures",
    Perm.ATTENDANCE_RECORD: "Take group attendance, mark appointments kept, log outreach",
    Perm.ATTENDANCE_CHECKIN: "See the daily census and check patients in at the front desk",
    Perm.ATTENDANCE_REPORT: "Weekly hours compliance report per track and its CSV export",
    Perm.NOTE_VIEW: "Read clinical notes (SUD counseling notes only as the program permits)",
    Perm.NOTE_WRITE: "Write, sign and amend group, individual and other clinical notes",
    Perm.NOTE_COSIGN: "Co-sign or return notes that need a supervisor (never as a trainee)",
    Perm.PLAN_WRITE: "Write, sign and review treatment and relapse-prevention plans; homework",
}

_CLINICAL = {
    Perm.PATIENT_VIEW,
    Perm.PATIENT_EDIT,
    Perm.BREAK_GLASS,
    Perm.ALERT_RESOLVE,
    Perm.SCREENING_ADMINISTER,
    Perm.ASSESSMENT_WRITE,
    Perm.CONSENT_MANAGE,
    Perm.PLAN_WRITE,
}
_INTAKE = {Perm.REFERRAL_MANAGE, Perm.ADMIT}
_SCHEDULE = {Perm.SCHEDULE_MANAGE}
_ATTENDANCE = {Perm.ATTENDANCE_RECORD, Perm.ATTENDANCE_CHECKIN}
_NOTES = {Perm.NOTE_VIEW, Perm.NOTE_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.PROGRAM_DIRECTOR: frozenset(
        _CLINICAL
        | {
            Perm.PATIENT_REGISTER,
            Perm.COVERAGE_EDIT,
            Perm.EPISODE_MANAGE,
            Perm.ORG_MANAGE,
            Perm.AUDIT_VIEW,
            Perm.DIRECTOR_DASHBOARD,
            Perm.SCHEDULE_CONFIGURE,
            Perm.ATTENDANCE_REPORT,
            Perm.NOTE_COSIGN,
        }
        | _INTAKE
        | _SCHEDULE
        | _ATTENDANCE
        | _NOTES
    ),
    Role.PRESCRIBER: frozenset(_CLINICAL | _SCHEDULE | _ATTENDANCE | _NOTES | {Perm.NOTE_COSIGN}),
    Role.THERAPIST: frozenset(
        _CLINICAL
        | _INTAKE
        | _SCHEDULE
        | _ATTENDANCE
        | _NOTES
        | {Perm.EPISODE_MANAGE, Perm.ATTENDANCE_REPORT, Perm.NOTE_COSIGN}
    ),
    Role.COUNSELOR: frozenset(
        _CLINICAL
        | _INTAKE
        | _SCHEDULE
        | _ATTENDANCE
        | _NOTES
        | {Perm.EPISODE_MANAGE, Perm.ATTENDANCE_REPORT}
    ),
    Role.NURSE: frozenset((_CLINICAL - {Perm.CONSENT_MANAGE}) | _SCHEDULE | _ATTENDANCE | _NOTES),
    Role.CASE_MANAGER: frozenset(
        _CLINICAL
        | _SCHEDULE
        | _ATTENDANCE
        | _NOTES
        | {Perm.REFERRAL_MANAGE, Perm.COVERAGE_EDIT, Perm.EPISODE_MANAGE}
    ),
    Role.INTAKE_COORDINATOR: frozenset(
        {
            Perm.PATIENT_VIEW,
            Perm.PATIENT_REGISTER,
            Perm.PATIENT_EDIT,
            Perm.COVERAGE_EDIT,
            Perm.EPISODE_MANAGE,
            Perm.SCREENING_ADMINISTER,
            Perm.CONSENT_MANAGE,
            Perm.ATTENDANCE_CHECKIN,
        }
        | _INTAKE
        | _SCHEDULE
    ),
    Role.BILLING_SPECIALIST: frozenset(
        {Perm.PATIENT_VIEW, Perm.COVERAGE_EDIT, Perm.ATTENDANCE_REPORT, Perm.NOTE_VIEW}
    ),
    Role.FRONT_DESK: frozenset(
        {
            Perm.PATIENT_VIEW,
            Perm.PATIENT_REGISTER,
            Perm.PATIENT_EDIT,
            Perm.COVERAGE_EDIT,
            Perm.CONSENT_MANAGE,
            Perm.SCHEDULE_MANAGE,
            Perm.ATTENDANCE_CHECKIN,
        }
    ),
    Role.AUDITOR: frozenset(
        {Perm.PATIENT_VIEW, Perm.AUDIT_VIEW, Perm.ATTENDANCE_REPORT, Perm.NOTE_VIEW}
    ),
    # Least privilege: administrators configure the system but read no charts.
    Role.SYSTEM_ADMIN: frozenset({Perm.ORG_MANAGE, Perm.ADMIN_SITE}),
}


def role_has(role: str, perm: Perm) -> bool:
    """Whether a role grants a permission. Unknown roles grant nothing."""
    try:
        return perm in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def roles_table_markdown() -> str:
    roles = list(Role)
    header = "| Permission | " + " | ".join(r.label for r in roles) + " |"
    rule = "|---|" + "---|" * len(roles)
    lines = [header, rule]
    for perm in Perm:
        cells = ["yes" if perm in ROLE_PERMISSIONS[r] else "" for r in roles]
        lines.append(f"| `{perm.value}`: {PERM_DESCRIPTIONS[perm]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
