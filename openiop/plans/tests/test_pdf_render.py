"""Renders the plan and relapse-prevention PDFs to PNG (pdftoppm) for a visual check;
the PNGs go to test-artifacts/plans/ and the tests assert they were produced."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from openiop.consents.tests.helpers import access_for
from openiop.plans import services
from openiop.plans.tests.helpers import make_signed_plan, moment

pytestmark = pytest.mark.django_db
OUT = Path(__file__).resolve().parents[3] / "test-artifacts" / "plans"


def _png(pdf: bytes, name: str) -> Path:
    exe = shutil.which("pdftoppm")
    assert exe, "pdftoppm (poppler-utils) is not installed"
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.pdf"
    path.write_bytes(pdf)
    # Fixed executable and arguments; the only input is a file we just wrote.
    subprocess.run(  # noqa: S603
        [exe, "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(OUT / name)],
        check=True,
    )
    pngs = sorted(OUT.glob(f"{name}*.png"))
    assert pngs and pngs[0].stat().st_size > 5000
    return pngs[0]


def test_render_plan_and_relapse_pdfs(world):  # type: ignore[no-untyped-def]
    v = make_signed_plan(world.alice, world.patient_a)
    _, pdf = services.plan_print(
        actor=world.alice,
        access=access_for(world.patient_a),
        version_public_id=v.public_id,
        now=moment(),
    )
    _png(pdf, "treatment-plan")
    plan = services.relapse_plan_save(
        actor=world.alice,
        access=access_for(world.patient_a),
        data=services.RelapsePlanInput(
            triggers=("Payday", "Driving past the old bar"),
            warning_signs=("Skipping meals", "Isolating"),
            coping_strategies=("Call my sponsor", "Walk the dog", "Urge surfing"),
            people_to_call=(("Sam (sponsor)", "555-0100"), ("My sister", "555-0199")),
            self_help_group="Tuesday night AA, St. Mark's",
            sponsor_name="Sam",
            sponsor_phone="555-0100",
            after_lapse="Tell my sponsor the same day; come to group next morning; "
            "a lapse is not a relapse.",
        ),
        base_number=0,
        submission_token=uuid.uuid4(),
        now=moment(),
    )
    _, pdf = services.relapse_plan_print(
        actor=world.alice,
        access=access_for(world.patient_a),
        public_id=plan.public_id,
        now=moment(),
    )
    _png(pdf, "relapse-plan")
