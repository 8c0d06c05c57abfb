"""The per-request reads of the session, the user and the second-factor device, which
openiop.accounts does with plain statements instead of Django's and django-otp's ORM
reads: the same answers in every case that matters for access."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from conftest import verified_client
from openiop.accounts.backends import StaffBackend
from openiop.accounts.models import StaffSession
from openiop.accounts.sessions import SessionStore
from tests.factories import TOTPDeviceFactory, UserFactory

HOME = "/"


def test_session_round_trip_and_expiry(db) -> None:  # type: ignore[no-untyped-def]
    store = SessionStore()
    store["k"] = "v"
    store.save()
    key = store.session_key
    assert SessionStore(session_key=key).load() == {"k": "v"}
    assert StaffSession.objects.filter(session_key=key, user=None, otp_device_id=None).exists()
    StaffSession.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    expired = SessionStore(session_key=key)
    assert expired.load() == {} and expired.session_key is None
    assert SessionStore(session_key="no-such-session-key-000000000000").load() == {}


def test_backend_returns_active_users_only(db) -> None:  # type: ignore[no-untyped-def]
    user = UserFactory()
    assert StaffBackend().get_user(user.pk) == user
    assert StaffBackend().get_user(str(user.pk)) == user
    assert StaffBackend().get_user(user.pk + 1000) is None
    assert StaffBackend().get_user("not a number") is None
    user.is_active = False
    user.save()
    assert StaffBackend().get_user(user.pk) is None


def _home_status(client) -> int:  # type: ignore[no-untyped-def]
    return client.get(HOME).status_code


def test_verified_session_reaches_a_staff_page(world) -> None:  # type: ignore[no-untyped-def]
    assert _home_status(verified_client(world.alice)) == 200


@pytest.mark.parametrize("spoil", ["deleted", "unconfirmed", "other_users", "garbage"])
def test_session_device_that_no_longer_verifies_sends_to_mfa(world, spoil) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(world.alice)
    session = client.session
    device = world.alice.totpdevice_set.get()
    if spoil == "deleted":
        device.delete()
    elif spoil == "unconfirmed":
        device.confirmed = False
        device.save()
    elif spoil == "other_users":
        session[DEVICE_ID_SESSION_KEY] = TOTPDeviceFactory(user=world.bob).persistent_id
    else:
        session[DEVICE_ID_SESSION_KEY] = "otp_totp.totpdevice/x"
    session.save()
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa"))


def test_deactivated_user_is_signed_out(world) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(world.alice)
    world.alice.is_active = False
    world.alice.save()
    response = client.get(HOME)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_password_change_ends_other_sessions(world) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(world.alice)
    world.alice.set_password("another-long-passphrase-7")
    world.alice.save()
    response = client.get(HOME)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_device_comes_with_the_user_in_one_read(world) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = verified_client(world.alice)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("healthz")).status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    # One statement reads the session, the user and the device (the rest is /healthz's
    # own checks and the first request's write of the session's clock).
    reads = [s for s in sql if "accounts_staffsession" in s or "accounts_user" in s
             or "otp_totp_totpdevice" in s]  # fmt: skip
    assert reads[0].startswith("SELECT s.session_data")
    assert all(t in reads[0] for t in ("accounts_user", "otp_totp_totpdevice"))
    assert all(s.startswith("UPDATE") for s in reads[1:])


def test_the_session_row_names_its_user_and_device(world) -> None:  # type: ignore[no-untyped-def]
    client = verified_client(world.alice)
    row = StaffSession.objects.get(session_key=client.session.session_key)
    assert row.user_id == world.alice.pk
    assert row.otp_device_id == world.alice.totpdevice_set.get().pk


def test_a_user_read_along_serves_only_the_user_the_session_names(world) -> None:  # type: ignore[no-untyped-def]
    """The backend takes the user the session's read brought only when the session's
    data names that same user, and only once."""
    from openiop.accounts.sessions import session_user

    session_user.set((world.bob.pk, world.bob))
    assert StaffBackend().get_user(world.alice.pk) == world.alice  # read, not bob
    session_user.set((world.alice.pk, world.bob))
    assert StaffBackend().get_user(world.alice.pk) is world.bob  # taken as given
    assert session_user.get() is None
    assert StaffBackend().get_user(world.alice.pk) == world.alice
