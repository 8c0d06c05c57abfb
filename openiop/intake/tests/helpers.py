"""Shared pieces of the intake tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from openiop.intake.models import Referral
from openiop.intake.services import AdmissionInput, ReferralInput
from openiop.intake.tests.factories import ReferralFactory
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess
from tests.factories import EpisodeFactory, PatientFactory

TODAY = dt.date(2026, 11, 20)
NOW = timezone.make_aware(dt.datetime(2026, 11, 20, 10, 0))


def referral(world: Any, program: Program | None = None, **fields: Any) -> Referral:
    """A referral of the world's organization (program A unless told)."""
    values: dict[str, Any] = {
        "organization": world.org,
        "program": world.program_a if program is None else program,
        "created_by": world.alice,
    }
    return ReferralFactory(**(values | fields))


def pool_referral(world: Any, **fields: Any) -> Referral:
    return ReferralFactory(
        **({"organization": world.org, "program": None, "created_by": world.alice} | fields)
    )


def referral_input(world: Any, **changes: Any) -> ReferralInput:
    values: dict[str, Any] = {
        "program": world.program_a,
        "source_type": "hospital",
        "referring_organization": "St. Elsewhere ED",
        "referrer_name": "Dr. Pat Lee",
        "referrer_phone": "555-010-2000",
        "reason": "Alcohol use after an ED visit; wants evening groups.",
        "urgency": "soon",
        "given_name": "Jordan",
        "family_name": "Canary-RA",
        "date_of_birth": dt.date(1994, 6, 2),
        "phone": "555-301-7788",
        "email": "",
        "preferred_contact_method": "text",
        "insurance_payer_name": "Buckeye Health Plan",
        "insurance_member_id": "BHP-1234",
        "insurance_notes": "",
        "schedule_preference": "evening",
        "schedule_notes": "Works 8 to 4",
        "received_at": NOW,
    }
    return ReferralInput(**(values | changes))


def screening_patient(
    world: Any, program: Program | None = None, **fields: Any
) -> tuple[Patient, Any]:
    """A patient with an episode in screening (not yet admitted) in program A."""
    patient = PatientFactory(organization=world.org, **fields)
    episode = EpisodeFactory(
        patient=patient,
        program=program or world.program_a,
        status="screening",
        level_of_care="2.1",
        referred_on=dt.date(2026, 11, 1),
    )
    return patient, episode


def access_for(patient: Patient) -> PatientAccess:
    return PatientAccess(patient, via_break_glass=False)


def admission_input(**changes: Any) -> AdmissionInput:
    values: dict[str, Any] = {
        "start_date": TODAY,
        "level_of_care": "2.1",
        "track": "Evening SUD",
        "expected_weeks": 10,
        "primary_counselor": None,
        "prescriber": None,
        "case_manager": None,
        "schedule_preference": "evening",
    }
    return AdmissionInput(**(values | changes))


def sign_admission_consents(world: Any, patient: Patient, program: Program | None = None) -> None:
    """Sign the three consents a program requires by default, through the consents app."""
    from openiop.consents.tests.helpers import make_consent

    for kind in ("treatment", "financial", "program_rules"):
        make_consent(
            actor=world.alice,
            patient=patient,
            program=program or world.program_a,
            kind=kind,
            today=dt.date(2026, 11, 2),
        )


def token() -> uuid.UUID:
    return uuid.uuid4()
