"""Signing in: enrolling an authenticator on first sign-in, and the second factor after."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    bin_key_base32,
    field_error,
    password_sign_in,
    submit,
    totp_code,
    totp_wrong_code,
)
from tests.factories import TOTPDeviceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# django-otp throttles a device for 1 s after one wrong code (exponential back-off), so
# a right code typed at once after a wrong one would be refused.
THROTTLE_WAIT_MS = 1_200


def test_first_sign_in_enrols_an_authenticator(page: Page, live_server, world, shot) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    assert not TOTPDevice.objects.filter(user=world.alice).exists()

    page.goto(base + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    shot("01-login")
    password_sign_in(page, world.alice)

    page.wait_for_url(re.compile(r"/accounts/mfa/setup/\?next=%2F$"))
    expect(page.locator("h1")).to_have_text("Set up two-step sign-in")
    expect(page.locator("img.qr")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "").strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    device = TOTPDevice.objects.get(user=world.alice)
    assert not device.confirmed
    assert bin_key_base32(device.bin_key) == secret  # the key shown is the key stored
    shot("02-mfa-setup")

    # A mistyped code: the error sits next to the code field and nothing is confirmed.
    page.fill("#id_token", totp_wrong_code(secret))
    submit(page)
    assert "does not match" in field_error(page, "id_token")
    expect(page.locator(".field.has-error #id_token")).to_be_visible()
    shot("03-mfa-setup-wrong-code")
    device.refresh_from_db()
    assert not device.confirmed

    page.wait_for_timeout(THROTTLE_WAIT_MS)
    page.fill("#id_token", totp_code(secret))
    submit(page)

    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    shown = {c.strip() for c in codes.all_inner_texts()}
    stored = set(
        StaticToken.objects.filter(device__user=world.alice).values_list("token", flat=True)
    )
    assert shown == stored
    device.refresh_from_db()
    assert device.confirmed
    shot("04-recovery-codes")

    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_url(base + "/")
    expect(page.locator("h1")).to_contain_text("Good to see you")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Patients")
    shot("05-home")


def test_sign_in_with_code_goes_where_next_points(page: Page, live_server, world, shot) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    device = TOTPDeviceFactory(user=world.alice)
    secret = bin_key_base32(device.bin_key)

    page.goto(base + "/patients/?q=aver")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    password_sign_in(page, world.alice)

    page.wait_for_url(re.compile(r"/accounts/mfa/\?next="))
    assert quote("/patients/?q=aver", safe="") in page.url
    expect(page.locator("h1")).to_have_text("Enter your verification code")
    # Password alone opens nothing: the main navigation is not shown yet.
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)

    page.fill("#id_token", totp_wrong_code(secret))
    submit(page)
    assert "That code is not valid" in field_error(page, "id_token")
    expect(page.locator("#id_token_error")).to_be_visible()
    shot("06-mfa-verify-wrong-code")

    page.wait_for_timeout(THROTTLE_WAIT_MS)
    page.fill("#id_token", totp_code(secret))
    submit(page)

    page.wait_for_url(base + "/patients/?q=aver")
    expect(page.locator("#patient-results")).to_contain_text("Canary-PA")
