"""Synthetic referrals for intake tests (and the intake benchmark)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from openiop.intake.models import Referral

RECEIVED = timezone.make_aware(dt.datetime(2026, 11, 2, 9, 30))


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    source_type = "primary_care"
    referring_organization = "Lakeside Family Clinic"
    reason = "Daily drinking, wants help keeping a job."
    urgency = "routine"
    given_name = factory.Sequence(lambda n: f"Rowan{n}")
    family_name = factory.Sequence(lambda n: f"Referral{n}")
    date_of_birth = dt.date(1991, 3, 14)
    phone = "555-201-3344"
    schedule_preference = "evening"
    stage = "new"
    stage_changed_at = RECEIVED
    received_at = RECEIVED
