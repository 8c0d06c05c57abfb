"""Test settings: the base settings with fast hashing and no secrets on disk."""

from __future__ import annotations

import os

os.environ.setdefault("OPENIOP_ENV", "test")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DEMO_MODE", "true")

from config.settings.base import *  # noqa: F403

# Argon2 is the production hasher (asserted in tests/test_settings.py); tests use a
# fast one so building the test world does not dominate the run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests serve static files through the finders (no collectstatic); whitenoise only
# warns when its STATIC_ROOT is missing, so give it the (git-ignored) folder.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
