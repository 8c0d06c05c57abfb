"""Settings for `make bench`: the app's own settings, measured as production runs them.

bench/run.py sets DATABASE_URL, DATA_DIR and STATIC_ROOT before Django reads this.
"""

from __future__ import annotations

from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DIR, DATABASES, TEMPLATES

DEBUG = False
# Persistent connections, as a WSGI deployment runs them. base.py turns them off for
# SQLite (a new connection per request); the benchmark measures both databases alike.
DATABASES["default"]["CONN_MAX_AGE"] = 600
ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
LOGGING = {"version": 1, "disable_existing_loggers": False}
