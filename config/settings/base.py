"""OpenIOP settings, read from environment variables (documented in README.md).

OPENIOP_ENV selects the profile: "development" (the default: `make run`, embedded
SQLite under DATA_DIR) or "production" (every secret must come from the
environment; a missing or malformed value stops the process at start).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

OPENIOP_ENV = env_str("OPENIOP_ENV", "development")
if OPENIOP_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        "Environment variable OPENIOP_ENV must be one of development, production, test; "
        f"got {OPENIOP_ENV!r}."
    )
PRODUCTION = OPENIOP_ENV == "production"

DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))


def _secret_key() -> str:
    key = env_str("SECRET_KEY", required=PRODUCTION)
    if key:
        if PRODUCTION and (len(key) < 50 or len(set(key)) < 5):
            raise ImproperlyConfigured(
                "Environment variable SECRET_KEY must be at least 50 characters with at "
                "least 5 distinct characters."
            )
        return key
    # Development: a random key kept beside the embedded database, so sessions survive
    # restarts without anyone having to invent a secret.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("Environment variable DEBUG must be false in production.")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Environment variable ALLOWED_HOSTS is required in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DEMO_MODE = env_bool("DEMO_MODE", default=False)
if PRODUCTION and DEMO_MODE:
    raise ImproperlyConfigured("Environment variable DEMO_MODE must be false in production.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "django_q",
    "openiop.core",
    "openiop.accounts",
    "openiop.organizations",
    "openiop.patients",
    "openiop.episodes",
    "openiop.access",
    "openiop.audit",
    "openiop.alerts",
    "openiop.intake",
    "openiop.screening",
    "openiop.assessments",
    "openiop.consents",
    "openiop.scheduling",
    "openiop.attendance",
    "openiop.reminders",
    "openiop.plans",
    "openiop.homework",
    "openiop.notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "openiop.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "openiop.accounts.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "openiop.core.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "openiop.access.middleware.AccessPolicyMiddleware",
    # Axes last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "openiop.core.context_processors.openiop",
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                # {% url %} with the namespace lookup cached (openiop/core/urlreverse.py).
                "openiop.core.templatetags.fast_url",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", required=PRODUCTION) or f"sqlite:///{DATA_DIR / 'openiop.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The statements every page repeats (openiop/core/db.py, statement_cursor) are
    # prepared on the server on their first execution in a connection; Django's own
    # queries are bound on the client and never prepared. Off for a transaction-mode
    # pooler that cannot keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        0 if env_bool("DB_PREPARED_STATEMENTS", True) else None
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
        # failing with "database is locked" halfway through a transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "openiop.accounts.backends.StaffBackend",
]

# Lockout: keyed by username AND address together, never by address alone, so one
# attacker behind a clinic's shared address cannot lock out every staff member.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Sessions: server-side (database) so that logout and deactivation end them for real.
SESSION_ENGINE = "openiop.accounts.sessions"
SESSION_IDLE_TIMEOUT = timedelta(minutes=env_int("SESSION_IDLE_MINUTES", 15, minimum=1))
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1))
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

BREAK_GLASS_DURATION = timedelta(minutes=env_int("BREAK_GLASS_MINUTES", 60, minimum=1))
OTP_TOTP_ISSUER = env_str("OTP_ISSUER", "OpenIOP")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
    if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: only the app's own assets; no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "openiop@localhost")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
# Outside production, mail (session reminders) goes to one file per message batch in
# this folder, like the SMS outbox, instead of the terminal: no addresses on screen.
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(DATA_DIR / "outbox" / "email")))

# Background jobs (django-q2, docs/ARCHITECTURE.md "Background jobs"): JOB_BROKER=orm
# keeps the queue in the application database (SQLite or PostgreSQL, no extra
# service); JOB_BROKER=redis uses REDIS_URL and scales out to many worker hosts.
JOB_BROKER = env_str("JOB_BROKER", "orm")
if JOB_BROKER not in {"orm", "redis"}:
    raise ImproperlyConfigured(
        f"Environment variable JOB_BROKER must be orm or redis; got {JOB_BROKER!r}."
    )
JOB_TIMEOUT_SECONDS = env_int("JOB_TIMEOUT_SECONDS", 60, minimum=2)
Q_CLUSTER: dict[str, object] = {
    "name": "openiop",
    # The queue's name (its key on Redis): distinct per deployment sharing one Redis.
    "cluster_name": env_str("JOB_QUEUE_NAME", "openiop"),
    "workers": env_int("JOB_WORKERS", 2, minimum=1),
    "timeout": JOB_TIMEOUT_SECONDS,
    # A job not acknowledged (its worker died) is handed out again after `retry` (ORM
    # broker; Redis has no acknowledgement: the reminder scan re-enqueues after `retry`).
    "retry": JOB_TIMEOUT_SECONDS + env_int("JOB_RETRY_GRACE_SECONDS", 30, minimum=1),
    "max_attempts": 5,
    "catch_up": False,
    "save_limit": 500,
    "poll": 1,
    "label": "Background jobs",
}
if JOB_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
else:
    Q_CLUSTER["redis"] = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
REMINDER_SCAN_MINUTES = env_int("REMINDER_SCAN_MINUTES", 5, minimum=1)
REMINDER_SMS_BACKEND = env_str("REMINDER_SMS_BACKEND", "openiop.reminders.adapters.FileOutboxSms")
REMINDER_SMS_OUTBOX = DATA_DIR / "outbox" / "sms.jsonl"

# Logs carry a request id and never patient data: log messages name public ids only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "openiop.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request lines for 4xx would echo URLs; keep them at warning and above.
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
    },
}
