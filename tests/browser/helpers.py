"""Steps shared by the browser tests: codes from an authenticator, signing in, and
finding a field's error next to it."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING

from django_otp.oath import TOTP
from playwright.sync_api import Page

from tests.factories import TOTPDeviceFactory

if TYPE_CHECKING:
    from openiop.accounts.models import User

PASSWORD = "correct-horse-battery-9"  # what tests.factories.UserFactory sets
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def totp_code(secret_base32: str, *, offset_steps: int = 0) -> str:
    """The current 6-digit code for a base32 secret, as an authenticator app shows it."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6, drift=offset_steps)
    return f"{totp.token():06d}"


def totp_wrong_code(secret_base32: str) -> str:
    """A code that is valid at no step the server tolerates (now +/- 2 steps)."""
    near = {totp_code(secret_base32, offset_steps=s) for s in range(-2, 3)}
    candidate = 123456
    while f"{candidate:06d}" in near:
        candidate += 1
    return f"{candidate:06d}"


def bin_key_base32(bin_key: bytes) -> str:
    return base64.b32encode(bin_key).decode().rstrip("=")


def submit(page: Page) -> None:
    """Clicks the main form's primary button (not the sign-out button in the top bar)."""
    page.locator("main form button[type=submit].primary").click()


def field_error(page: Page, input_id: str) -> str:
    """The error text shown inside the same .field container as the input."""
    container = page.locator(".field", has=page.locator(f"#{input_id}"))
    return container.locator(".field-error").inner_text()


def password_sign_in(page: Page, user: User) -> None:
    """Fills and sends the sign-in form the page is showing."""
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    submit(page)


def sign_in(page: Page, base_url: str, user: User) -> None:
    """Password then the code from a confirmed authenticator, through the real pages."""
    device = TOTPDeviceFactory(user=user)
    page.goto(base_url + "/accounts/login/")
    password_sign_in(page, user)
    page.wait_for_url(re.compile(r"/accounts/mfa/\?"))
    page.fill("#id_token", totp_code(bin_key_base32(device.bin_key)))
    submit(page)
    page.wait_for_url(base_url + "/")
