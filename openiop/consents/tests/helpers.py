"""Helpers for tests here and in other apps (e.g. admission needs signed consents)."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
import tempfile
import uuid
import zlib
from datetime import date, datetime
from pathlib import Path

from django.utils import timezone

from openiop.accounts.models import User
from openiop.consents import rules, services
from openiop.consents.models import Consent
from openiop.organizations.models import Program
from openiop.patients.models import Patient
from openiop.patients.selectors import PatientAccess


def tiny_png(width: int = 40, height: int = 12) -> bytes:
    """A small black-on-white PNG, as a canvas would produce."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b""
    for y in range(height):
        row = bytes([0])
        for x in range(width):
            ink = y == height // 2 or x == y
            row += b"\x00\x00\x00" if ink else b"\xff\xff\xff"
        rows += row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def png_data_url(png: bytes | None = None) -> str:
    return "data:image/png;base64," + base64.b64encode(png or tiny_png()).decode("ascii")


def access_for(patient: Patient) -> PatientAccess:
    return PatientAccess(patient, via_break_glass=False)


def part2_input(program: Program, **changes: object) -> services.ConsentInput:
    values: dict[str, object] = {
        "program": program,
        "effective_on": date(2026, 11, 2),
        "recipient_name": "Lakeside Family Clinic",
        "recipient_class": "outside_provider",
        "purposes": ("TREAT",),
        "categories": ("diagnoses", "medications", "attendance"),
        "information_description": "Diagnoses, medications and attendance during this episode.",
        "expires_on": date(2027, 11, 1),
    }
    values.update(changes)
    return services.ConsentInput(**values)  # type: ignore[arg-type]


def make_consent(
    *,
    actor: User,
    patient: Patient,
    program: Program,
    kind: str = "treatment",
    data: services.ConsentInput | None = None,
    sign: bool = True,
    today: date = date(2026, 11, 2),
    now: datetime | None = None,
) -> Consent:
    """A consent drafted (and by default signed with a drawn signature) through the services."""
    moment = now or timezone.make_aware(datetime(2026, 11, 2, 10, 0))
    access = access_for(patient)
    consent = services.consent_draft_create(
        actor=actor,
        access=access,
        kind=kind,
        data=data or services.ConsentInput(program=program, effective_on=today),
        submission_token=uuid.uuid4(),
        today=today,
        now=moment,
    )
    if not sign:
        return consent
    consent = Consent.objects.get(pk=consent.pk)
    text = services.consent_text(consent)
    return services.consent_sign(
        actor=actor,
        access=access,
        consent_public_id=consent.public_id,
        signature=services.SignatureInput(
            typed_name=patient.full_name,
            signature_data_url=png_data_url(),
            signing_electronically=False,
            shown_text_sha256=rules.sha256_text(text.body),
            signer_address="10.0.0.7",
            user_agent="pytest",
        ),
        today=today,
        now=moment,
    )


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF by poppler's pdftotext, whitespace collapsed."""
    exe = shutil.which("pdftotext")
    assert exe, "pdftotext (poppler-utils) is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(pdf)
        # Fixed executable and arguments; the only input is a file we just wrote.
        out = subprocess.run(  # noqa: S603
            [exe, "-layout", str(path), "-"], capture_output=True, check=True, text=True
        ).stdout
    return " ".join(out.split())
