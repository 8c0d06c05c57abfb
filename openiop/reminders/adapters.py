"""Delivery adapters: one interface per channel, the implementation chosen by setting.

Email goes through Django's configured `EMAIL_BACKEND` (SMTP in production). SMS goes
through `settings.REMINDER_SMS_BACKEND`, a dotted path to a class with the `SmsBackend`
interface; the default, `FileOutboxSms`, appends each message as one JSON line to
`settings.REMINDER_SMS_OUTBOX` (under DATA_DIR). That file is a delivery outbox with
message bodies and numbers, not the application log, so it is never written through
`logging`. A real SMS gateway is a new class with the same `send` method.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.module_loading import import_string

REMINDER_HEADER = "X-OpenIOP-Reminder"


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, key: str) -> None:
        """Hand one text message to the carrier; raise on refusal."""


class FileOutboxSms:
    """Appends `{"at", "key", "to", "body"}` lines to the outbox file (locked, fsynced)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path or settings.REMINDER_SMS_OUTBOX)

    def send(self, *, to: str, body: str, key: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"at": timezone.now().isoformat(), "key": key, "to": to, "body": body},
            ensure_ascii=False,
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


class ConsoleSms:
    """Prints messages to standard output (for a developer watching `make run`)."""

    def send(self, *, to: str, body: str, key: str) -> None:
        sys.stdout.write(f"[sms to {to} key {key}] {body}\n")
        sys.stdout.flush()


def sms_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.REMINDER_SMS_BACKEND)()
    return backend


def send_email(*, to: str, subject: str, body: str, key: str) -> None:
    """One message through the configured email backend; raises when refused."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={REMINDER_HEADER: key},
    )
    message.send(fail_silently=False)


def send(*, channel: str, to: str, subject: str, body: str, sms_body: str, key: str) -> None:
    if channel == "email":
        send_email(to=to, subject=subject, body=body, key=key)
    elif channel == "sms":
        sms_backend().send(to=to, body=sms_body, key=key)
    else:
        raise ValueError(f"unknown channel {channel!r}")
