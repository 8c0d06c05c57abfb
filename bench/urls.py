"""The app's URLs plus the benchmark's baseline page.

The baseline is what Django costs for a page of the same size as the chart from one
indexed query: the same middleware, no session, no audit, no access checks.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path

from openiop.access.policy import public
from openiop.patients.models import Patient


@public
def baseline(request: HttpRequest) -> HttpResponse:
    rows = min(int(request.GET.get("rows", "50")), 500)
    after = int(request.GET.get("after", "0"))
    patients = list(Patient.objects.filter(pk__gt=after).order_by("pk")[:rows])
    return render(request, "bench/baseline.html", {"patients": patients})


urlpatterns = [
    path("bench/baseline/", baseline, name="bench-baseline"),
    path("", include("config.urls")),
]
