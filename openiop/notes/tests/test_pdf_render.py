"""Render a signed note's PDF to a PNG for a person to look at (NOTES_PDF_PNG=path)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from openiop.notes import services
from openiop.notes.tests.helpers import DAY, access, at, draft, sign

pytestmark = pytest.mark.django_db


def test_pdf_renders_to_png(world: Any, tmp_path: Path) -> None:
    exe = shutil.which("pdftoppm")
    assert exe, "pdftoppm (poppler-utils) is not installed"
    note = sign(world, draft(world))
    services.note_addendum_add(
        actor=world.alice,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        text="Patient called after the session: slept well, no cravings.",
        submission_token=uuid.uuid4(),
        now=at(DAY, time(18, 0)),
    )
    _, pdf = services.note_print(
        actor=world.alice,
        access=access(world.patient_a),
        note_public_id=note.public_id,
        now=at(DAY, time(19, 0)),
    )
    target = Path(os.environ.get("NOTES_PDF_PNG") or tmp_path / "note")
    (tmp_path / "note.pdf").write_bytes(pdf)
    subprocess.run(  # noqa: S603
        [exe, "-png", "-r", "90", "-singlefile", str(tmp_path / "note.pdf"), str(target)],
        check=True,
    )
    assert Path(f"{target}.png").stat().st_size > 5000
