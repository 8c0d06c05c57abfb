"""Registering a patient: errors beside their fields, duplicates, and double submits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from openiop.accounts.models import User
from openiop.accounts.roles import Role
from openiop.core.models import SubmissionReceipt
from openiop.patients.models import Patient
from tests.browser.helpers import field_error, sign_in, submit
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART_URL = re.compile(r"/patients/([0-9a-f-]{36})/$")

# What a registrar types, by input id. Selects are listed separately.
TYPED = {
    "id_legal_given_name": "Jordan",
    "id_legal_middle_name": "Quinn",
    "id_legal_family_name": "Ellison-Test",
    "id_preferred_name": "Jo",
    "id_pronouns": "they/them",
    "id_date_of_birth": "1988-07-04",
    "id_phone": "555-201-3344",
    "id_email": "jordan.ellison@example.org",
    "id_address_line1": "12 Elm Street",
    "id_address_line2": "Apt 3",
    "id_city": "Springfield",
    "id_postal_code": "6270",  # one digit short
    "id_contact_name": "Morgan Ellison",
    "id_contact_relationship": "Sibling",
    "id_contact_phone": "555-201-9988",
}
SELECTED = {
    "id_sex_at_birth": "unknown",
    "id_gender_identity": "nonbinary",
    "id_state": "IL",
    "id_initial_status": "screening",
}


def _fill(page: Page, typed: dict[str, str], selected: dict[str, str], program: str) -> None:
    for input_id, value in typed.items():
        page.fill(f"#{input_id}", value)
    for select_id, value in selected.items():
        page.select_option(f"#{select_id}", value)
    page.select_option("#id_program", label=program)


def _intake_coordinator(world) -> User:  # type: ignore[no-untyped-def]
    """Registering is the intake coordinator's job (counselors may not register)."""
    return UserFactory(
        username="ivy",
        organization=world.org,
        role=Role.INTAKE_COORDINATOR,
        programs=[world.program_a],
    )


def _patients_named(given: str, family: str) -> list[Patient]:
    return list(
        Patient.objects.filter(
            legal_given_name__iexact=given, legal_family_name__iexact=family
        ).order_by("id")
    )


def test_register_fix_a_mistake_then_a_confirmed_duplicate(
    page: Page, live_server, world, shot
) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    sign_in(page, base, _intake_coordinator(world))
    page.get_by_role("link", name="Register patient").click()
    page.wait_for_url(base + "/patients/new/")
    _fill(page, TYPED, SELECTED, "Morning SUD IOP")
    submit(page)

    # The error sits beside the ZIP code; everything typed is still there.
    expect(page.locator(".field.has-error")).to_have_count(1)
    assert "Enter a 5-digit ZIP code" in field_error(page, "id_postal_code")
    for input_id, value in TYPED.items():
        expect(page.locator(f"#{input_id}")).to_have_value(value)
    for select_id, value in SELECTED.items():
        expect(page.locator(f"#{select_id}")).to_have_value(value)
    expect(page.locator("#id_program option:checked")).to_have_text("Morning SUD IOP")
    shot("11-register-error")
    assert _patients_named("Jordan", "Ellison-Test") == []

    page.fill("#id_postal_code", "62704")
    submit(page)
    page.wait_for_url(CHART_URL)
    [first] = _patients_named("Jordan", "Ellison-Test")
    assert str(first.public_id) in page.url
    assert first.postal_code == "62704" and first.phone == "555-201-3344"
    expect(page.locator("#chart-header")).to_contain_text(f"MRN {first.mrn}")
    expect(page.locator(".messages")).to_contain_text(f"Registered with MRN {first.mrn}")
    expect(page.locator("#chart-header .header-facts")).to_contain_text("Screening")
    expect(page.locator("#demographics")).to_contain_text("Morgan Ellison (Sibling)")
    # Long values (an email address) wrap inside the panel instead of running out of it.
    widths = page.locator("#demographics dl.facts").evaluate(
        "(dl) => [dl.scrollWidth, dl.clientWidth]"
    )
    assert widths[0] <= widths[1], widths
    shot("12-register-saved-chart")

    # The same name and date of birth again (typed in lower case): a warning first.
    page.get_by_role("link", name="Register patient").click()
    page.wait_for_url(base + "/patients/new/")
    _fill(
        page,
        {
            "id_legal_given_name": "jordan",
            "id_legal_family_name": "ellison-test",
            "id_date_of_birth": "1988-07-04",
        },
        {"id_sex_at_birth": "unknown"},
        "Morning SUD IOP",
    )
    submit(page)
    warning = page.locator("#duplicate-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(f"MRN {first.mrn}")
    assert "already registered" in field_error(page, "id_confirm_not_duplicate")
    shot("13-register-duplicate-warning")
    assert len(_patients_named("Jordan", "Ellison-Test")) == 1

    page.check("#id_confirm_not_duplicate")
    submit(page)
    page.wait_for_url(CHART_URL)
    both = _patients_named("Jordan", "Ellison-Test")
    assert len(both) == 2
    second = both[1]
    assert second.mrn != first.mrn
    assert str(second.public_id) in page.url
    expect(page.locator("#chart-header")).to_contain_text(f"MRN {second.mrn}")


def test_submitting_the_same_form_twice_registers_one_patient(
    page: Page, live_server, world
) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    sign_in(page, base, _intake_coordinator(world))
    page.goto(base + "/patients/new/")
    _fill(
        page,
        {
            "id_legal_given_name": "Riley",
            "id_legal_family_name": "Twice-Test",
            "id_date_of_birth": "1979-11-30",
        },
        {"id_sex_at_birth": "male"},
        "Morning SUD IOP",
    )
    token = page.locator("input[name=submission_token]").input_value()

    # The first submission reaches the server but its answer is lost (a dropped
    # connection, or the first of two clicks), then the registrar clicks Register again.
    first_status = page.evaluate(
        """async () => {
            const form = document.querySelector("main form.grid-form");
            const response = await fetch(form.action || location.href, {
                method: "POST", body: new FormData(form), redirect: "manual",
                credentials: "same-origin",
            });
            return response.type;
        }"""
    )
    assert first_status == "opaqueredirect"  # the server created the patient and redirected
    [created] = _patients_named("Riley", "Twice-Test")

    submit(page)
    page.wait_for_url(CHART_URL)
    assert _patients_named("Riley", "Twice-Test") == [created]
    assert str(created.public_id) in page.url
    expect(page.locator("#chart-header")).to_contain_text(f"MRN {created.mrn}")
    assert SubmissionReceipt.objects.filter(token=token).count() == 1

    # Two submissions of one form in flight at once: both answered, one patient.
    page.goto(base + "/patients/new/")
    _fill(
        page,
        {
            "id_legal_given_name": "Sasha",
            "id_legal_family_name": "Together-Test",
            "id_date_of_birth": "1983-06-21",
        },
        {"id_sex_at_birth": "female"},
        "Morning SUD IOP",
    )
    answers = page.evaluate(
        """async () => {
            const form = document.querySelector("main form.grid-form");
            const send = () => fetch(form.action || location.href, {
                method: "POST", body: new FormData(form), redirect: "manual",
                credentials: "same-origin",
            }).then((response) => response.type + " " + response.status);
            return Promise.all([send(), send()]);
        }"""
    )
    assert answers == ["opaqueredirect 0", "opaqueredirect 0"]  # no error page for either
    assert len(_patients_named("Sasha", "Together-Test")) == 1

    # A real double click on Register (Chromium may send one POST or two).
    page.goto(base + "/patients/new/")
    _fill(
        page,
        {
            "id_legal_given_name": "Casey",
            "id_legal_family_name": "Doubleclick-Test",
            "id_date_of_birth": "1991-02-12",
        },
        {"id_sex_at_birth": "female"},
        "Morning SUD IOP",
    )
    page.locator("main form button[type=submit].primary").dblclick()
    page.wait_for_url(CHART_URL)
    page.wait_for_load_state("networkidle")
    [casey] = _patients_named("Casey", "Doubleclick-Test")
    assert str(casey.public_id) in page.url
    expect(page.locator("#chart-header")).to_contain_text(f"MRN {casey.mrn}")
