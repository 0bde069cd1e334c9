"""Settings for the whole project, read from the environment (and an optional `.env` file).

Every knob an operator may turn is an environment variable; see `.env.example` and the README.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "dev-only-secret-key-not-for-production-use-0123456789abcdefghijklmnop"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else None)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
# Rotation (docs/operations.md): the keys SECRET_KEY replaced, newest first, comma-separated.
# Sessions, password-reset links and other signatures made with them stay valid until removed.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Key of the tamper-evident audit chain; kept outside the database on purpose.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="dev-only-audit-chain-key" if DEBUG else None)
if not AUDIT_CHAIN_KEY:
    raise environ.ImproperlyConfigured("AUDIT_CHAIN_KEY must be set when DEBUG is off.")
# Rotation (docs/operations.md): the keys AUDIT_CHAIN_KEY replaced, newest first,
# comma-separated. New entries are signed with AUDIT_CHAIN_KEY only; older entries keep
# verifying under the key they were written with (never remove a key a chain still uses).
AUDIT_CHAIN_PREVIOUS_KEYS = env.list("AUDIT_CHAIN_PREVIOUS_KEYS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_q",
    "axes",
    "core",
    "ingestion",
    "billing",
    "invoicing",
    "denials",
    "wallets",
]

MIDDLEWARE = [
    # First: every log line of a request carries its id; API errors are JSON even from middleware.
    "core.middleware.RequestIdMiddleware",
    "core.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.sessions.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.TenantMiddleware",
    # last: turns a refused sign-in of a locked-out account or address into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "core.context_processors.tenant",
                "invoicing.context_processors.approval_badge",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Without IMMEDIATE transactions a worker and the web process trip over "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    _db.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", default=None)
    if not _db["TEST"]["NAME"]:
        del _db["TEST"]["NAME"]

# The reporting reads (reconciliation, aging and override reports) on a replica where one is
# set (core/reporting_db.py, docs/operations.md); tests read it as a mirror of `default`.
if env.str("REPORTING_DATABASE_URL", default=""):
    DATABASES["reporting"] = env.db("REPORTING_DATABASE_URL")
    DATABASES["reporting"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["reporting"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["reporting"]["ENGINE"].endswith("postgresql"):
        # a replica that does not answer must not hold each report for the OS's TCP timeout
        # before the read falls back to the primary (core/reporting_db.py)
        DATABASES["reporting"].setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.int("REPORTING_CONNECT_TIMEOUT", default=3)
        )
    DATABASES["reporting"]["TEST"] = {"MIRROR": "default"}
REPORTING_DATABASE = "reporting" if "reporting" in DATABASES else "default"
DATABASE_ROUTERS = ["core.reporting_db.ReportingRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # first: refuses any sign-in of a locked-out username or address before a password is checked
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sign-in protection (django-axes) and sessions ------------------------------------------------
# A username, and separately an address, is locked out after LOGIN_FAILURE_LIMIT failed sign-ins
# within LOGIN_LOCKOUT_MINUTES; the lock lifts after that long, or when an admin unlocks the member
# (members screen). Attempts while locked do not extend the lock. A successful sign-in clears them.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # two criteria: per user OR per address
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
# Proxies in front that append the client's address to X-Forwarded-For (one behind a TLS proxy):
# lockouts and rate limits count the address the outermost of them saw, not the proxy's.
TRUSTED_PROXY_COUNT = env.int(
    "TRUSTED_PROXY_COUNT", default=1 if env.bool("BEHIND_TLS_PROXY", default=False) else 0
)
AXES_CLIENT_IP_CALLABLE = "core.lockout.client_address"
AXES_VERBOSE = False
# Sign-in POSTs per address and token-endpoint calls per user (DRF throttle rates: N/second,
# minute, hour or day).
LOGIN_RATE = env.str("LOGIN_RATE", default="30/minute")
API_TOKEN_RATE = env.str("API_TOKEN_RATE", default="30/minute")
# A session ends after SESSION_IDLE_TIMEOUT_SECONDS without a request, and in any case
# SESSION_ABSOLUTE_LIFETIME_SECONDS after sign-in (core.sessions.SessionLifetimeMiddleware).
SESSION_IDLE_TIMEOUT_SECONDS = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_LIFETIME_SECONDS = env.int("SESSION_ABSOLUTE_LIFETIME_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_SECONDS
SESSION_SAVE_EVERY_REQUEST = True  # each request pushes the idle deadline forward
SESSION_ENGINE = "core.session_store"  # Django's database sessions, updated in one statement

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# Money on screens; codes and plain amounts stay in the API and CSVs.
CURRENCY_SYMBOL = os.environ.get("CURRENCY_SYMBOL", "$")  # environ would expand a leading $
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# --- Security (production values unless DEBUG) -------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Email (invitations, password reset) ---------------------------------------------------
# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587. Without it invitation links are
# shown to the inviter instead of sent; password reset writes its email to the console in DEBUG
# and is not offered otherwise.
EMAIL_CONFIGURED = bool(env.str("EMAIL_URL", default=""))
if EMAIL_CONFIGURED:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="healthbill@localhost")
# Where staff open the product (notification emails link to it); empty: links are paths only.
SITE_URL = env.str("SITE_URL", default="")
PASSWORD_RESET_ENABLED = EMAIL_CONFIGURED or DEBUG
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24  # a reset link works for one day

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.TenantMember"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPagination",
    "PAGE_SIZE": 100,
    # Bounded JSON (size, depth) and no text the database cannot store (NUL), see core.api.parsers.
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "core.api.parsers.FormParser",
        "core.api.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Healthbill API",
    "DESCRIPTION": "Billing runs, invoicing, denials, wallets and ingestion for health-insurance "
    "billing teams. Authenticate with `Authorization: Bearer <token>`; send `X-Tenant: <slug>` "
    "with a session. Every POST accepts an `Idempotency-Key` header. Text never holds the NUL "
    "character (U+0000) or a lone UTF-16 surrogate, in values, field names or the query string: "
    "such a request answers 400 naming the field.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ArtifactKindEnum": "ingestion.models.Kind",
        # uploads take the loadable kinds: every kind has a loader now, so they share the enum
        # (a kind without a loader would get its own, auto-named choice set again)
        "InvoiceModeEnum": "invoicing.models.InvoiceRequestType.InvoiceMode",
        "BillKindEnum": "invoicing.models.Bill.Kind",
        "BillStatusEnum": "invoicing.models.Bill.Status",
        "InvoiceRequestStatusEnum": "invoicing.models.InvoiceRequest.Status",
        "MembershipKindEnum": "invoicing.models.Membership.Kind",
        "MembershipStatusEnum": "invoicing.models.Membership.Status",
        "ChargeStatusEnum": "denials.models.Charge.Status",
        "ClaimStatusEnum": "denials.models.Claim.Status",
        "PaymentApplicationKindEnum": "denials.models.PaymentApplication.Kind",
        "DenialStatusEnum": "denials.models.Denial.Status",
        "CoverageKindEnum": "denials.models.Coverage.Kind",
        "OverrideKindEnum": "denials.reporting_overrides.OVERRIDE_KINDS",
        "DiscountKindEnum": "wallets.models.Discount.Kind",
        # webhook deliveries (issue 19, events API)
        "WebhookDeliveryKindEnum": "core.models.WebhookDelivery.Kind",
        "WebhookDeliveryStatusEnum": "core.models.WebhookDelivery.Status",
        "BillingRunStatusEnum": "billing.models.BillingRun.Status",
    },
}
IDEMPOTENCY_KEY_TTL_HOURS = 24
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=64)
# Months accepted as input (API, commands, screens): MONTH_YEAR_MIN to this year + YEARS_AHEAD.
MONTH_YEAR_MIN = env.int("MONTH_YEAR_MIN", default=2000)
MONTH_YEARS_AHEAD = env.int("MONTH_YEARS_AHEAD", default=2)

# --- Background work (django-q2) ----------------------------------------------------------------
Q_BROKER = env.str("Q_BROKER", default="")
JOBS_DISABLED = env.bool("JOBS_DISABLED", default=False)
Q_CLUSTER = {
    "name": "healthbill",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=600),  # must stay below retry
    "retry": env.int("Q_RETRY", default=720),
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 500,
    "ack_failures": True,
    "poll": 0.5,
    "sync": env.bool("Q_SYNC", default=False),
    "label": "Background tasks",
}
# The job watchdog (core.watchdog, every minute): a long job (billing run, prepaid run...) that
# made no progress for WATCHDOG_STALE_SECONDS, with none of its tasks waiting in the broker, has
# its unfinished chunks queued again, at most WATCHDOG_MAX_REQUEUES times in a row; then it
# fails with the reason. Above Q_CLUSTER retry, so the broker's own re-delivery of a task a dead
# worker held goes first.
WATCHDOG_STALE_SECONDS = env.int("WATCHDOG_STALE_SECONDS", default=Q_CLUSTER["retry"] + 180)
WATCHDOG_MAX_REQUEUES = env.int("WATCHDOG_MAX_REQUEUES", default=2)
if Q_BROKER.startswith("redis://") or Q_BROKER.startswith("rediss://"):
    Q_CLUSTER["redis"] = Q_BROKER
else:
    Q_CLUSTER["orm"] = "default"

# --- Logging: one JSON object per line, never PHI ------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    # Every handler carries both filters: the request id, then PHI scrubbing (core.logging).
    "filters": {
        "request_id": {"()": "core.logging.RequestIdFilter"},
        "phi": {"()": "core.logging.PhiFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "phi"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's defaults give these loggers handlers of their own (console in DEBUG, mail to
        # admins, the dev server's access log with query strings): route them through ours.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; lockouts (WARNING) are what operators need.
        "axes": {"level": "WARNING"},
        "django-q": {"level": env.str("Q_LOG_LEVEL", default="WARNING").upper()},
        # WeasyPrint and fontTools warn about fonts and subsetting on machines without
        # HarfBuzz-Subset; the PDFs are fine (DejaVu fonts are named in the CSS): errors only.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}

# --- Ingestion --------------------------------------------------------------------------------
INGESTION_MAX_UPLOAD_BYTES = env.int("INGESTION_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
INGESTION_CHUNK_SIZE = env.int("INGESTION_CHUNK_SIZE", default=5000)
# A batch of at least this many records refreshes the records table's statistics once they are
# written (PostgreSQL), so the per-chunk "already loaded?" probe takes the loaded-key index.
INGESTION_ANALYZE_ROWS = env.int("INGESTION_ANALYZE_ROWS", default=10_000)
# Uploads are streamed to a temporary file above this size; the limit above is what we accept.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=60 * 1024 * 1024)
# JSON bodies (ingestion records included) above this answer 413.
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=DATA_UPLOAD_MAX_MEMORY_SIZE)

# --- Billing runs -------------------------------------------------------------------------------
BILLING_CHUNK_SIZE = env.int("BILLING_CHUNK_SIZE", default=5000)
BILLING_CHUNK_ATTEMPTS = 3

# --- Prepaid runs (wallets) ----------------------------------------------------------------------
# Accounts per chunk (one task each) and per transaction: each account's wallet is locked for its
# debits; a transaction groups up to this many accounts (locked together, in id order) so a
# 100,000-service run is not 100,000 commits. An unexpected error rolls the group back and the
# chunk is retried; a service's bad data is an error row on the run, not a rollback.
PREPAID_CHUNK_ACCOUNTS = int(os.environ.get("PREPAID_CHUNK_ACCOUNTS", "500"))
PREPAID_ACCOUNTS_PER_TRANSACTION = int(os.environ.get("PREPAID_ACCOUNTS_PER_TRANSACTION", "100"))
# Ledger commits wait for their disk flush unless this is turned on (see wallets.services.chunks).
PREPAID_ASYNC_COMMIT = os.environ.get("PREPAID_ASYNC_COMMIT", "false").lower() == "true"

# --- Billing run chunk sizing (issue 16) ---------------------------------------------------------
# A payer with more than BILLING_CHUNK_MEASURE_FROM members starts with BILLING_CHUNK_PROBES chunks
# of BILLING_CHUNK_PROBE members (one per worker); the first to finish cuts the rest in chunks
# of about BILLING_CHUNK_SECONDS of work from its measured cost per member, between
# BILLING_CHUNK_MIN and BILLING_CHUNK_MAX members (the maximum bounds a worker's memory).
# Smaller payers, or BILLING_CHUNK_SECONDS = 0, use BILLING_CHUNK_SIZE.
BILLING_CHUNK_SECONDS = env.float("BILLING_CHUNK_SECONDS", default=1.0)
BILLING_CHUNK_MEASURE_FROM = env.int("BILLING_CHUNK_MEASURE_FROM", default=20000)
BILLING_CHUNK_PROBE = env.int("BILLING_CHUNK_PROBE", default=2500)
BILLING_CHUNK_PROBES = env.int("BILLING_CHUNK_PROBES", default=Q_CLUSTER["workers"])
BILLING_CHUNK_MIN = env.int("BILLING_CHUNK_MIN", default=2500)
BILLING_CHUNK_MAX = env.int("BILLING_CHUNK_MAX", default=20000)
