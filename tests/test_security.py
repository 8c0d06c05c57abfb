"""Security baseline: configuration, deploy checks, hashing, lockout, MFA, sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from openiop.accounts import mfa
from openiop.audit.models import AuditEvent
from tests.factories import TOTPDeviceFactory

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "OPENIOP_ENV": "production",
    "SECRET_KEY": "p" * 20 + "q" * 20 + "r" * 20 + "-Zx9!",
    "DATABASE_URL": "postgres://openiop@127.0.0.1:5432/openiop",
    "ALLOWED_HOSTS": "iop.example.org",
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "SECRET_KEY",
            "DEMO_MODE",
            "OPENIOP_ENV",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_with_no_warnings() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "too-short"}, "SECRET_KEY"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"SESSION_IDLE_MINUTES": "ten"}, "SESSION_IDLE_MINUTES"),
        ({"DEMO_MODE": "true"}, "DEMO_MODE"),
        ({"OPENIOP_ENV": "prod"}, "OPENIOP_ENV"),
    ],
)
def test_bad_production_configuration_fails_at_start_naming_the_variable(override, named) -> None:  # type: ignore[no-untyped-def]
    env = PROD_ENV | override
    result = _manage("check", env={k: v for k, v in env.items() if v != ""})
    assert result.returncode != 0
    assert named in result.stderr


def test_production_hasher_is_argon2() -> None:
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_security_headers_and_csp(world, as_user) -> None:  # type: ignore[no-untyped-def]
    response = as_user(world.alice).get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Request-ID"]


def test_healthz_ok_and_503_when_database_is_down(client, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "worker": "never"}
    from django.db import connection
    from django.db.utils import OperationalError

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken)
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def _login(client, username: str, password: str, ip: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_login_then_second_factor(world, client) -> None:  # type: ignore[no-untyped-def]
    device = TOTPDeviceFactory(user=world.alice)
    response = _login(client, "alice", "correct-horse-battery-9")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:mfa"))
    assert client.get("/").status_code == 302  # not yet verified
    bad = client.post(reverse("accounts:mfa"), {"token": "000000"})
    assert bad.status_code == 422 and b"not valid" in bad.content
    # django-otp throttles after a failure (1 s, doubling): the next try waits.
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):
        ok = client.post(
            reverse("accounts:mfa"), {"token": mfa.current_code(device), "next": "/patients/"}
        )
        assert ok.status_code == 302 and ok["Location"] == "/patients/"
        assert client.get("/patients/").status_code == 200
    actions = list(AuditEvent.objects.filter(actor=world.alice).values_list("action", flat=True))
    assert {"login", "mfa_failed", "mfa_verify"} <= set(actions)


def test_first_login_enrols_totp_and_issues_recovery_codes(world, client) -> None:  # type: ignore[no-untyped-def]
    _login(client, "alice", "correct-horse-battery-9")
    page = client.get(reverse("accounts:mfa_setup"))
    assert page.status_code == 200 and b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=world.alice, confirmed=False)
    response = client.post(reverse("accounts:mfa_setup"), {"token": mfa.current_code(device)})
    assert response.status_code == 200 and b'id="recovery-codes"' in response.content
    codes = response.context["codes"]
    assert len(codes) == 10
    # A recovery code signs in once.
    client.logout()
    _login(client, "alice", "correct-horse-battery-9")
    assert client.post(reverse("accounts:mfa"), {"token": codes[0]}).status_code == 302
    assert client.get(reverse("core:home")).status_code == 200  # verified from then on
    client.logout()
    _login(client, "alice", "correct-horse-battery-9")
    assert client.post(reverse("accounts:mfa"), {"token": codes[0]}).status_code == 422


def test_lockout_is_keyed_by_username_and_address(world, client, settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "alice", "wrong-password", ip="10.0.0.9")
    locked = _login(client, "alice", "correct-horse-battery-9", ip="10.0.0.9")
    assert locked.status_code in (403, 429)
    # The same address can still be used by a colleague (shared clinic address)...
    assert _login(client, "bob", "correct-horse-battery-9", ip="10.0.0.9").status_code == 302
    # ...and alice from another address is not locked.
    assert _login(client, "alice", "correct-horse-battery-9", ip="10.0.0.10").status_code == 302
    assert (
        AuditEvent.objects.filter(action="login_failed", actor_username="alice").count()
        >= settings.AXES_FAILURE_LIMIT
    )


def test_idle_timeout_and_absolute_lifetime(world, as_user, settings) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert client.get("/").status_code == 200
    idle = settings.SESSION_IDLE_TIMEOUT
    with time_machine.travel(start + idle - timedelta(seconds=5), tick=False):
        assert client.get("/").status_code == 200  # activity extends the session
    with time_machine.travel(start + 2 * idle - timedelta(seconds=10), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + 3 * idle + timedelta(seconds=1), tick=False):
        response = client.get("/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert AuditEvent.objects.filter(actor=world.alice, action="session_timeout").exists()

    client = as_user(world.bob)
    begin = timezone.now()
    with time_machine.travel(begin, tick=False):
        client.get("/")
    moment = begin
    step = idle - timedelta(minutes=1)
    while moment - begin < settings.SESSION_ABSOLUTE_LIFETIME - step:
        moment += step
        with time_machine.travel(moment, tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(
        begin + settings.SESSION_ABSOLUTE_LIFETIME + timedelta(seconds=1), tick=False
    ):
        assert client.get("/").status_code == 302


def test_deactivated_user_loses_their_session(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    assert client.get("/").status_code == 200
    world.alice.is_active = False
    world.alice.save()
    assert client.get("/").status_code == 302


def test_logout_ends_the_session_server_side(world, as_user) -> None:  # type: ignore[no-untyped-def]
    client = as_user(world.alice)
    cookie = client.cookies["sessionid"].value
    client.post(reverse("accounts:logout"))
    from django.test import Client

    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/").status_code == 302


def test_demo_totp_refuses_outside_demo_mode(world, settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.management import call_command
    from django.core.management.base import CommandError

    TOTPDeviceFactory(user=world.alice)
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        call_command("demo_totp", "alice")


def test_no_patient_names_in_logs(world, as_user, caplog, settings) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO)
    settings.ROOT_URLCONF = "tests.urls_unclassified"
    client = as_user(world.alice)
    client.get(reverse("patients:search"), {"q": "canary"})
    client.get(reverse("patients:chart", args=[world.patient_a.public_id]))
    as_user(world.charlie).get(reverse("patients:chart", args=[world.patient_a.public_id]))
    client.get("/unknown-page-for-a-404/")
    client.get("/unclassified/")  # logs an error naming the refused view
    assert caplog.records, "expected some log output to inspect"
    assert "Canary" not in caplog.text and "Avery" not in caplog.text
