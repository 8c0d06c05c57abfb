"""factory_boy factories for the shared test world (synthetic people only)."""

from __future__ import annotations

import datetime as dt

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Role
from openiop.episodes.models import Episode, EpisodeStatus
from openiop.organizations.models import Organization, Payer, PlanType, Program, ProgramType, Site
from openiop.patients.models import Patient
from openiop.patients.rules import mrn_format


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Test Recovery Org {n}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    site = factory.SubFactory(SiteFactory)
    name = factory.Sequence(lambda n: f"Program {n}")
    program_type = ProgramType.SUD_IOP


class PayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Payer {n}")
    plan_type = PlanType.PRIVATE


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    role = Role.COUNSELOR
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-9")

    @factory.post_generation
    def programs(self, create: bool, extracted: list[Program] | None, **kwargs: object) -> None:
        if create and extracted:
            for program in extracted:
                ProgramMembership.objects.create(user=self, program=program)
        if create:
            self.save()


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Authenticator app"
    confirmed = True


_counter = iter(range(1, 10_000_000))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    organization = factory.SubFactory(OrganizationFactory)
    mrn = factory.LazyFunction(lambda: mrn_format(next(_counter), "T"))
    legal_given_name = factory.Sequence(lambda n: f"Given{n}")
    legal_family_name = factory.Sequence(lambda n: f"Family{n}")
    date_of_birth = dt.date(1990, 5, 17)
    sex_at_birth = "female"


class EpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Episode

    patient = factory.SubFactory(PatientFactory)
    program = factory.SubFactory(ProgramFactory)
    status = EpisodeStatus.ACTIVE
    level_of_care = "2.1"
    referred_on = dt.date(2026, 10, 1)
