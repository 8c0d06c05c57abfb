"""The shared test world, after healthchecks' hc/test.py.

alice (counselor) and bob (auditor, read-only) work in program A; charlie
(counselor) works in program B of the same organization; dana directs program A;
sam is the system administrator; olivia belongs to another organization. Each
program has a patient. Nearly every view test also proves charlie and olivia are
refused patient A.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.episodes.models import Episode
from openiop.organizations.models import Organization, Program
from openiop.patients.models import Patient
from tests.factories import (
    EpisodeFactory,
    OrganizationFactory,
    PatientFactory,
    ProgramFactory,
    SiteFactory,
    TOTPDeviceFactory,
    UserFactory,
)


@dataclass
class World:
    org: Organization
    program_a: Program
    program_b: Program
    alice: User
    bob: User
    charlie: User
    dana: User
    sam: User
    olivia: User
    patient_a: Patient
    patient_b: Patient
    episode_a: Episode
    episode_b: Episode


@pytest.fixture
def world(db: None) -> World:
    org = OrganizationFactory(name="Riverside Recovery")
    site = SiteFactory(organization=org, name="Main Street")
    program_a = ProgramFactory(site=site, name="Morning SUD IOP")
    program_b = ProgramFactory(site=site, name="Evening MH IOP", program_type="mh_iop")
    other_org = OrganizationFactory(name="Elsewhere Health")
    other_program = ProgramFactory(site=SiteFactory(organization=other_org), name="Other IOP")
    alice = UserFactory(
        username="alice", organization=org, role=Role.COUNSELOR, programs=[program_a]
    )
    bob = UserFactory(username="bob", organization=org, role=Role.AUDITOR, programs=[program_a])
    charlie = UserFactory(
        username="charlie", organization=org, role=Role.COUNSELOR, programs=[program_b]
    )
    dana = UserFactory(
        username="dana", organization=org, role=Role.PROGRAM_DIRECTOR, programs=[program_a]
    )
    sam = UserFactory(username="sam", organization=org, role=Role.SYSTEM_ADMIN, is_staff=True)
    olivia = UserFactory(
        username="olivia",
        organization=other_org,
        role=Role.PROGRAM_DIRECTOR,
        programs=[other_program],
    )
    patient_a = PatientFactory(
        organization=org, legal_given_name="Avery", legal_family_name="Canary-PA"
    )
    patient_b = PatientFactory(
        organization=org, legal_given_name="Blake", legal_family_name="Canary-PB"
    )
    episode_a = EpisodeFactory(patient=patient_a, program=program_a, primary_counselor=alice)
    episode_b = EpisodeFactory(patient=patient_b, program=program_b, primary_counselor=charlie)
    return World(
        org,
        program_a,
        program_b,
        alice,
        bob,
        charlie,
        dana,
        sam,
        olivia,
        patient_a,
        patient_b,
        episode_a,
        episode_b,
    )


def verified_client(user: User) -> Client:
    """A test client signed in with password and second factor."""
    device = TOTPDeviceFactory(user=user)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def as_user(world: World):  # type: ignore[no-untyped-def]
    cache: dict[str, Client] = {}

    def make(user: User) -> Client:
        if user.username not in cache:
            cache[user.username] = verified_client(user)
        return cache[user.username]

    return make
