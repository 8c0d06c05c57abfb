"""Staff accounts, roles and program memberships."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models

from openiop.accounts.roles import Perm, Role, role_has
from openiop.organizations.models import Organization, Program


class User(AbstractUser):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    credentials = models.CharField(
        max_length=60, blank=True, help_text="Licence or credential letters, e.g. LCSW, CADC."
    )
    is_trainee = models.BooleanField(
        default=False, help_text="Trainee counselors' notes need a supervisor's co-signature."
    )
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.display_name

    # The fields display_name reads (lists that join staff rows load only these).
    DISPLAY_NAME_FIELDS = ("first_name", "last_name", "username", "credentials")

    @property
    def display_name(self) -> str:
        name = self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name

    @property
    def org_id(self) -> int:
        """The staff member's organization; every staff account has one."""
        if self.organization_id is None:
            raise PermissionError("This account belongs to no organization.")
        return self.organization_id

    def has_perm_code(self, perm: Perm) -> bool:
        return self.is_active and role_has(self.role, perm)


class ProgramMembership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "program"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.program_id}"


class StaffSession(AbstractBaseSession):
    """Django's database session with two facts of its data beside it: the signed-in
    user and the TOTP device that verified the session. With them a request reads its
    session, its user and the device in one statement (accounts/sessions.py); the data
    stays the authority (the user is taken only when the data names the same one)."""

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    otp_device_id = models.BigIntegerField(null=True, blank=True)

    @classmethod
    def get_session_store_class(cls) -> type:
        from openiop.accounts.sessions import SessionStore

        return SessionStore
