"""Chorus settings: one module, everything from the environment.

Defaults are the embedded demo's (SQLite under var/, no Redis, tasks in-process) but never unsafe:
DEBUG is off and SECRET_KEY has no default unless DEBUG is explicitly on. `.env.example` lists every
variable; the README explains the production profile.
"""

from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

# Lets generic Django classes (ModelAdmin[Model], QuerySet[Model]) be subscripted at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the file named by NAME_FILE (docker secrets)."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {error}") from error
    return env.str(name, default=default)  # type: ignore[no-any-return]  # environ is untyped


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env_secret("SECRET_KEY", default="insecure-demo-only-key" if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set (or SECRET_KEY_FILE) when DEBUG is off.")

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_celery_beat",
    "treebeard",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "accounts_registry",
    "monitoring",
    "engagement",
    "policies",
    "overview",
    "alerts",
    "demo",
    "config.apps.ProjectConfig",
]

MIDDLEWARE = [
    # First: the container probe is answered before host validation and the HTTPS redirect (only /healthz).
    "config.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # no-store on every signed-in response; Clear-Site-Data on logout.
    "common.cache_control.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx, read by the session and second-factor middleware below as by the views.
    "django_htmx.middleware.HtmxMiddleware",
    # Idle timeout and absolute lifetime first: an expired session never reaches the MFA check or a view.
    "accounts_registry.middleware.SessionLimitsMiddleware",
    "accounts_registry.middleware.RequireSecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
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
                "django.template.context_processors.csp",
                "accounts_registry.context_processors.navigation",
            ],
        },
    },
    # The second backend, for the few hot fragments rendered many times per page (the inbox's rows): Jinja2
    # compiles a template to Python, about ten times cheaper per row than the Django language. Templates in
    # `<app>/jinja2/`; autoescaping on and undefined names an error (common/jinja.py).
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"environment": "common.jinja.environment"},
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'chorus.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's poller thread writes while pages are served: wait for locks, take them up front.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: Chorus's statements are short and indexed, and on a large table the planner's cost
    # estimate (a search over 2M messages, a station's page) triggered 30-80 ms of compiling for a query
    # that runs in less. Query parameters of DATABASE_URL stay as given.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = " ".join(filter(None, [options.get("options", ""), "-c jit=off"]))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# --- Signing in (django-allauth) ----------------------------------------------------------------
# Officers sign in with their username or e-mail address; there is no self sign-up (admins create
# users with `grant_role`). allauth's backend resolves both; Django's stays for `manage.py` tools.
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
ACCOUNT_ADAPTER = "accounts_registry.signin.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False  # no "remember me": the session limits below hold for everyone
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# Seconds a password (and second factor) re-entry counts for sensitive actions (tokens, credentials).
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("CHORUS_REAUTHENTICATION_SECONDS", default=300)
# Lockout: after CHORUS_LOGIN_FAILURE_LIMIT failed passwords for one username from one client IP
# within CHORUS_LOGIN_LOCKOUT_MINUTES, that pair is refused (even the right password) until the
# window has passed; one IP is also capped across all usernames (password spraying). Keyed on the
# pair so that nobody can lock an officer out from another address. State lives in the cache (Redis).
CHORUS_LOGIN_FAILURE_LIMIT = env.int("CHORUS_LOGIN_FAILURE_LIMIT", default=5)
CHORUS_LOGIN_LOCKOUT_MINUTES = env.int("CHORUS_LOGIN_LOCKOUT_MINUTES", default=15)
ACCOUNT_RATE_LIMITS = {
    "login_failed": (
        f"{4 * CHORUS_LOGIN_FAILURE_LIMIT}/{CHORUS_LOGIN_LOCKOUT_MINUTES}m/ip,"
        f"{CHORUS_LOGIN_FAILURE_LIMIT}/{CHORUS_LOGIN_LOCKOUT_MINUTES}m/key"
    ),
}
# The client IP used for throttling and the audit trail: REMOTE_ADDR, unless the operator says how many
# reverse proxies append to X-Forwarded-For in front of gunicorn (then the address that many from the
# right). Never trust the header without a proxy that sets it: a client could pick its own IP.
CHORUS_TRUSTED_PROXY_COUNT = env.int("CHORUS_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = CHORUS_TRUSTED_PROXY_COUNT
# Second factor: TOTP apps with recovery codes. Required for admins, comms managers and Django staff
# (accounts_registry.middleware.RequireSecondFactorMiddleware), offered to everyone. A code is accepted
# once (allauth remembers used codes in the cache for the code's period; tolerance 0 keeps that exact).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Chorus"
MFA_TOTP_PERIOD = 30
MFA_TOTP_TOLERANCE = 0
# Users are created by admins, not by sign-up, so e-mail addresses are not verified by a link.
MFA_ALLOW_UNVERIFIED_EMAIL = True

# --- Single sign-on (OpenID Connect): off unless CHORUS_OIDC_ISSUER is set ------------------------
# The organization's identity provider (Entra ID, Keycloak, Okta...) signs people in instead of their
# Chorus password, through allauth's openid_connect provider; accounts_registry/sso.py decides who they
# are: the claim CHORUS_OIDC_CLAIM matched to a member's e-mail or badge number (CHORUS_OIDC_MATCH), and
# only a member with an active login. Nobody is created; roles and the second factor stay Chorus's.
# The app is built from these settings at each request, never stored (README "Single sign-on").
CHORUS_OIDC_ISSUER = env.str("CHORUS_OIDC_ISSUER", default="").rstrip("/")
CHORUS_OIDC_CLIENT_ID = env.str("CHORUS_OIDC_CLIENT_ID", default="")
CHORUS_OIDC_CLIENT_SECRET = env_secret("CHORUS_OIDC_CLIENT_SECRET", default="") or ""
CHORUS_OIDC_NAME = env.str("CHORUS_OIDC_NAME", default="single sign-on")  # the button: "Sign in with <name>"
CHORUS_OIDC_MATCH = env.str("CHORUS_OIDC_MATCH", default="email")  # email | badge
CHORUS_OIDC_CLAIM = env.str("CHORUS_OIDC_CLAIM", default="email" if CHORUS_OIDC_MATCH == "email" else "badge")
CHORUS_OIDC_SCOPES: list[str] = env.list("CHORUS_OIDC_SCOPES", default=["openid", "profile", "email"])
if CHORUS_OIDC_MATCH not in {"email", "badge"}:
    raise ImproperlyConfigured(f"CHORUS_OIDC_MATCH must be 'email' or 'badge', not {CHORUS_OIDC_MATCH!r}.")
if CHORUS_OIDC_ISSUER and not (CHORUS_OIDC_CLIENT_ID and CHORUS_OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "CHORUS_OIDC_ISSUER is set: CHORUS_OIDC_CLIENT_ID and CHORUS_OIDC_CLIENT_SECRET must be too."
    )
SOCIALACCOUNT_ADAPTER = "accounts_registry.sso.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "provider_class": "accounts_registry.sso.ChorusOpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
    }
}
SOCIALACCOUNT_STORE_TOKENS = False  # the provider's tokens are used once, to learn who signed in
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # identity is decided by accounts_registry/sso.py alone
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("CHORUS_OIDC_TIMEOUT", default=10)

# --- Sessions -----------------------------------------------------------------------------------
# A session ends after CHORUS_SESSION_IDLE_MINUTES without a request, and CHORUS_SESSION_MAX_HOURS
# after sign-in whatever the activity (accounts_registry.middleware.SessionLimitsMiddleware).
CHORUS_SESSION_IDLE_MINUTES = env.int("CHORUS_SESSION_IDLE_MINUTES", default=30)
CHORUS_SESSION_MAX_HOURS = env.int("CHORUS_SESSION_MAX_HOURS", default=12)

LANGUAGE_CODE = "en-ca"
TIME_ZONE = env.str("TIME_ZONE", default="America/Toronto")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Transport security -------------------------------------------------------------------------
# CHORUS_HTTPS is on by default: production sits behind TLS. The demo and the test suite serve plain
# http on loopback and turn it off; nothing else differs between those profiles.
HTTPS = env.bool("CHORUS_HTTPS", default=True)
# X-Forwarded-Proto is trusted only when the operator says a reverse proxy sets it (and strips a client's):
# otherwise any client could claim https. The README shows the proxy configuration.
BEHIND_PROXY = env.bool("CHORUS_BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_NAME = "__Host-sessionid" if HTTPS else "sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = CHORUS_SESSION_MAX_HOURS * 60 * 60

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    # The sign-in page's single sign-on button posts here, and is redirected on to the provider's origin.
    "form-action": [CSP.SELF, *([_origin(CHORUS_OIDC_ISSUER)] if CHORUS_OIDC_ISSUER else [])],
    "frame-ancestors": [CSP.NONE],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
}

# --- Secrets at rest ----------------------------------------------------------------------------
# Fernet keys, newest first. Data encrypted under any listed key decrypts; new writes use the first.
# `manage.py rotate_token_keys` re-encrypts every stored credential under the first key.
FERNET_KEYS: list[str] = [key for key in (env_secret("CHORUS_FERNET_KEYS", default="") or "").split(",") if key]

# --- Celery -------------------------------------------------------------------------------------
# REDIS_URL unset means the embedded mode of `make demo`: tasks run in-process, no broker.
REDIS_URL = env_secret("REDIS_URL", default="") or ""
EMBEDDED = not REDIS_URL
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A killed worker's unacknowledged tasks come back within seconds instead of minutes.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 60,
    "unacked_restore_interval": 2,
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- Email --------------------------------------------------------------------------------------
# Django 6.1 mailers: SMTP (configure its OPTIONS below) unless DEBUG, where the console prints mail.
MAILERS = {
    "default": {
        "BACKEND": env.str(
            "CHORUS_EMAIL_BACKEND",
            default="django.core.mail.backends.console.EmailBackend"
            if DEBUG
            else "django.core.mail.backends.smtp.EmailBackend",
        ),
        "OPTIONS": {
            option: value
            for option, value in {
                "host": env.str("EMAIL_HOST", default=""),
                "port": env.int("EMAIL_PORT", default=0),
                "username": env.str("EMAIL_HOST_USER", default=""),
                "password": env_secret("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_USE_TLS", default=False),
                # The file backend's folder (the demo writes its mail to var/outbox/).
                "file_path": env.str("CHORUS_EMAIL_FILE_PATH", default=""),
            }.items()
            if value
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="chorus@localhost")

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Chorus -------------------------------------------------------------------------------------
# Governance (the /org/governance/ page, and the default of the governance rules' `days`): how long an
# account may stay pending, or needing reconnection, before it is listed as a problem.
CHORUS_PENDING_GRACE_DAYS = env.int("CHORUS_PENDING_GRACE_DAYS", default=14)
CHORUS_RECONNECT_GRACE_DAYS = env.int("CHORUS_RECONNECT_GRACE_DAYS", default=7)
# Training that expires within this many days is shown as "expiring".
CHORUS_TRAINING_EXPIRY_WARNING_DAYS = env.int("CHORUS_TRAINING_EXPIRY_WARNING_DAYS", default=30)

# --- Platform APIs (env only: never editable in the UI) -----------------------------------------
# Base URLs let a deployment point at a sandbox and the tests/demo at the loopback API doubles.
CHORUS_X_API_BASE = env.str("CHORUS_X_API_BASE", default="https://api.twitter.com")
CHORUS_FACEBOOK_API_BASE = env.str("CHORUS_FACEBOOK_API_BASE", default="https://graph.facebook.com")
CHORUS_FACEBOOK_API_VERSION = env.str("CHORUS_FACEBOOK_API_VERSION", default="v24.0")
CHORUS_BLUESKY_API_BASE = env.str("CHORUS_BLUESKY_API_BASE", default="https://bsky.social")
# Where `make demo` serves police.social, the demo organization's Mastodon instance (a loopback double).
CHORUS_DEMO_MASTODON_URL = env.str("CHORUS_DEMO_MASTODON_URL", default="http://127.0.0.1:8104")
# One organization-wide X app bearer token reads public posts and mentions of every X account.
CHORUS_X_BEARER_TOKEN = env_secret("CHORUS_X_BEARER_TOKEN", default="") or ""
# OAuth 2.0 client for per-account X user tokens (refresh with offline.access).
CHORUS_X_CLIENT_ID = env.str("CHORUS_X_CLIENT_ID", default="")
CHORUS_X_CLIENT_SECRET = env_secret("CHORUS_X_CLIENT_SECRET", default="") or ""
CHORUS_FACEBOOK_APP_SECRET = env_secret("CHORUS_FACEBOOK_APP_SECRET", default="") or ""
# Seconds before a platform request is abandoned (then retried with backoff).
CHORUS_HTTP_TIMEOUT = env.float("CHORUS_HTTP_TIMEOUT", default=10.0)

# --- Polling ------------------------------------------------------------------------------------
CHORUS_POLL_INTERVAL = env.int("CHORUS_POLL_INTERVAL", default=120)  # seconds, per account
CHORUS_POLL_INTERVAL_CORPORATE = env.int("CHORUS_POLL_INTERVAL_CORPORATE", default=60)
# A claim expires after this long; a lost poll task is retried then (must exceed CELERY_TASK_TIME_LIMIT).
CHORUS_POLL_LEASE_SECONDS = env.int("CHORUS_POLL_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# At most this many claimed polls wait for a worker at once (each tick tops the queue up to it): due accounts
# beyond it wait in PostgreSQL. Keep it below what the workers poll in one lease.
CHORUS_POLL_BATCH = env.int("CHORUS_POLL_BATCH", default=500)
# Seconds between beat ticks (each leases the due accounts and enqueues their polls).
CHORUS_SWEEP_SECONDS = env.float("CHORUS_SWEEP_SECONDS", default=30.0)
# First retry after a transient platform failure (5xx, time-out); doubles per failure, capped at 30 minutes.
CHORUS_POLL_BACKOFF_SECONDS = env.float("CHORUS_POLL_BACKOFF_SECONDS", default=30.0)
CHORUS_BACKFILL_DAYS = env.int("CHORUS_BACKFILL_DAYS", default=7)  # first poll of an account reaches back
# Functions run on new message ids inside the ingest transaction (engagement, policies, then alerts on
# what the first two found: possible emergencies and critical flags).
CHORUS_INGEST_HOOKS: list[str] = [
    "engagement.services.auto_triage.triage_on_ingest",
    "policies.services.evaluate.policies_on_ingest",
    "alerts.services.triggers.alerts_on_ingest",
]
# Outbound destinations users configure (Mastodon instances, the alert webhook) must be https and public
# (common/outbound.py). Origins listed here (`scheme://host[:port]`, no port: any) are exempt: only for the
# loopback API doubles of the demo and the tests; leave it empty in production.
CHORUS_OUTBOUND_ALLOWLIST: list[str] = env.list("CHORUS_OUTBOUND_ALLOWLIST", default=[])
# Where engagement and policies meet without importing each other (see monitoring/extensions.py).
CHORUS_COACHING_GIVE = "engagement.services.feedback.coaching_give"
CHORUS_OPEN_FLAG_EXISTS = "policies.selectors.open_flag_exists"
# The people flows reach the apps built on the registry through these (see accounts_registry/extensions.py).
CHORUS_LOGIN_DEACTIVATED_HOOKS: list[str] = ["engagement.services.tokens.api_tokens_revoke_for_user"]
CHORUS_MEMBER_LEFT_HOOKS: list[str] = ["engagement.services.triage_actions.triage_release_assigned"]
# Possible emergencies and critical policy flags are also posted here (a Slack/Teams-compatible incoming
# webhook, through common/outbound.py); empty: email only.
CHORUS_POLICY_WEBHOOK_URL = env_secret("CHORUS_POLICY_WEBHOOK_URL", default="") or ""

# Shared state between workers (rate-limit gates): Redis when configured, else in-process memory.
CACHES = {
    # Django's Redis backend, reusing its redis-py client (common/redis_cache.py).
    "default": {"BACKEND": "common.redis_cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Alerts and reports -------------------------------------------------------------------------
# An active account is alerted to its holder and unit admins after more failed polls in a row than this.
CHORUS_ALERT_FAILING_POLLS = env.int("CHORUS_ALERT_FAILING_POLLS", default=3)
# The address people open Chorus at, for links in emails (e.g. https://chorus.example.org).
CHORUS_SITE_URL = env.str("CHORUS_SITE_URL", default="")

# Beat schedule (synced into django-celery-beat's tables on start, then visible in the admin).
CELERY_BEAT_SCHEDULE = {
    # Every 30 seconds (CHORUS_SWEEP_SECONDS): lease the accounts whose poll is due, enqueue one poll task each.
    "poll-due-accounts": {"task": "monitoring.tasks.poll_due_accounts", "schedule": CHORUS_SWEEP_SECONDS},
    # Every day at 06:00: account governance checks (dormant accounts, holders who left, lapsed training).
    "policies-governance-daily": {
        "task": "policies.tasks.run_governance_checks",
        "schedule": crontab(hour=6, minute=0),
    },
    # Every day at 03:30: delete poll runs, job runs and webhook events past their retention (below).
    "prune-records-daily": {"task": "monitoring.tasks.prune_records", "schedule": crontab(hour=3, minute=30)},
    # Every 2 minutes: alert accounts needing reconnection or failing, training expiring or expired, and
    # critical flags not alerted at ingest (emergencies are alerted by the poll that reads them).
    "alerts-sweep": {"task": "alerts.tasks.sweep_alerts", "schedule": 120.0},
    # Every day at 07:00: one email per person with the alerts they chose to get in the daily summary.
    "alerts-daily-summary": {"task": "alerts.tasks.send_daily_summaries", "schedule": crontab(hour=7, minute=0)},
    # Mondays at 07:00: each supervisor's digest of last week for their subtree.
    "reports-weekly-digest": {
        "task": "alerts.tasks.send_weekly_digests",
        "schedule": crontab(day_of_week=1, hour=7, minute=0),
    },
    # The 1st of the month at 07:00: the organization report of last month for comms managers.
    "reports-monthly": {
        "task": "alerts.tasks.send_monthly_reports",
        "schedule": crontab(day_of_month=1, hour=7, minute=0),
    },
}
# Retention in days of operational rows (messages, triage items, flags and audit events are kept).
CHORUS_RETAIN_POLL_RUNS_DAYS = env.int("CHORUS_RETAIN_POLL_RUNS_DAYS", default=14)
CHORUS_RETAIN_JOB_RUNS_DAYS = env.int("CHORUS_RETAIN_JOB_RUNS_DAYS", default=90)
CHORUS_RETAIN_WEBHOOK_EVENTS_DAYS = env.int("CHORUS_RETAIN_WEBHOOK_EVENTS_DAYS", default=30)
# Rows deleted per statement (each batch its own short transaction).
CHORUS_PRUNE_BATCH = env.int("CHORUS_PRUNE_BATCH", default=5000)
# Monthly read budgets per platform (items read); polls stretch their interval when the month's
# projection would exceed one. Prices per item read, for the health page's cost estimate.
CHORUS_READ_BUDGETS: dict[str, int] = {
    platform: int(value) for platform, value in env.dict("CHORUS_READ_BUDGETS", default={"x": "1000000"}).items()
}
CHORUS_READ_PRICES: dict[str, float] = {
    platform: float(value) for platform, value in env.dict("CHORUS_READ_PRICES", default={"x": "0.005"}).items()
}

# --- Webhooks -----------------------------------------------------------------------------------
# X Activity API: the app's consumer (API) secret signs CRC challenges and deliveries.
CHORUS_X_CONSUMER_SECRET = env_secret("CHORUS_X_CONSUMER_SECRET", default="") or ""
# Meta webhooks: the verify token you typed in the App Dashboard (signatures use the app secret).
CHORUS_FACEBOOK_VERIFY_TOKEN = env_secret("CHORUS_FACEBOOK_VERIFY_TOKEN", default="") or ""
# X accounts read with the org-wide app token are swept together through recent search (mentions:
# `@a OR @b ...`, own posts: `from:a OR from:b ...`) once they have been backfilled individually:
# a few requests per sweep instead of two per account. Off: every X account is polled on its own.
CHORUS_X_SEARCH_SWEEP = env.bool("CHORUS_X_SEARCH_SWEEP", default=True)

# --- Engagement ---------------------------------------------------------------------------------
# An answer is expected within this many hours (items older than this rank first in the inbox).
CHORUS_RESPONSE_TARGET_HOURS = env.float("CHORUS_RESPONSE_TARGET_HOURS", default=4.0)
# Seconds a "someone else is on this item" marker lasts without being refreshed.
CHORUS_PRESENCE_SECONDS = env.int("CHORUS_PRESENCE_SECONDS", default=90)

# --- Read-only JSON API (/api/v1/) --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["engagement.api.auth.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chorus API",
    "DESCRIPTION": (
        "Read-only access to triage items, accounts, units, response metrics and policy flags, "
        "scoped like the token's owner."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.document_errors_and_id_bounds",
    ],
}
