from __future__ import annotations

import pytest
from django.urls import reverse

from openiop.audit.models import AuditEvent


@pytest.mark.django_db
def test_smoke_chart_and_search(world, as_user):
    client = as_user(world.alice)
    r = client.get(reverse("patients:chart", args=[world.patient_a.public_id]))
    assert r.status_code == 200
    assert b"Canary-PA" in r.content
    r = client.get(reverse("patients:search"), {"q": "canary"})
    assert r.status_code == 200
    assert b"Canary-PA" in r.content and b"Canary-PB" not in r.content
    r = as_user(world.charlie).get(reverse("patients:chart", args=[world.patient_a.public_id]))
    assert r.status_code == 404
    assert AuditEvent.objects.filter(outcome="denied").exists()
