"""Settings, all from the environment.

The demo runs with embedded defaults (SQLite, huey on SQLite, a demo key). With
DANGQUN_ENV=production the process refuses to start unless SECRET_KEY and
FIELD_ENCRYPTION_KEY are real values, because a leaked demo key would expose every
encrypted ID number.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent  # src/dangqun

TESTING = bool(os.environ.get("PYTEST_VERSION"))  # set by pytest itself
ENV = os.environ.get("DANGQUN_ENV", "test" if TESTING else "demo")  # demo | test | production
PRODUCTION = ENV == "production"
_default_data = Path(tempfile.gettempdir()) / f"dangqun-test-{os.getpid()}" if TESTING else Path.cwd() / "var"
DATA_DIR = Path(os.environ.get("DANGQUN_DATA_DIR", _default_data))
if TESTING and _default_data == DATA_DIR:  # only the per-process folder, never a given one
    # A test process's own folder (uploads, certificates, static files) goes with the process.
    atexit.register(shutil.rmtree, DATA_DIR, ignore_errors=True)

DEMO_SECRET_KEY = "demo-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
# 32 bytes hex: a demo SM4 key (16 bytes) + HMAC key (16 bytes); production must set its own.
DEMO_FIELD_KEY = "00112233445566778899aabbccddeeff" + "ffeeddccbbaa99887766554433221100"

SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY)
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
if not FIELD_ENCRYPTION_KEY and os.environ.get("FIELD_ENCRYPTION_KEY_FILE"):
    FIELD_ENCRYPTION_KEY = Path(os.environ["FIELD_ENCRYPTION_KEY_FILE"]).read_text().strip()
FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or DEMO_FIELD_KEY

if PRODUCTION:
    if SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("生产环境必须设置 SECRET_KEY（至少 40 个字符）。")
    if FIELD_ENCRYPTION_KEY == DEMO_FIELD_KEY or len(FIELD_ENCRYPTION_KEY) != 64:
        raise ImproperlyConfigured("生产环境必须设置 FIELD_ENCRYPTION_KEY（64 位十六进制）。")

DEBUG = os.environ.get("DEBUG", "0" if PRODUCTION else "1") == "1" and not PRODUCTION
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "dangqun.core",
    "dangqun.accounts",
    "dangqun.orgs",
    "dangqun.members",
    "dangqun.meetings",
    "dangqun.onestop",
    "dangqun.certs",
    "dangqun.learning",
    "dangqun.feedback",
    "dangqun.insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "dangqun.core.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dangqun.core.middleware.ElderModeMiddleware",
    "dangqun.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "dangqun.config.urls"
WSGI_APPLICATION = "dangqun.config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "dangqun.core.context_processors.shell",
            ],
        },
    }
]

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'dangqun.sqlite3'}"  # empty = unset
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets readers run beside one writer; IMMEDIATE avoids lock-upgrade deadlocks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DATABASES["default"]["TEST"] = (
    {"NAME": os.environ.get("TEST_DATABASE_NAME")} if os.environ.get("TEST_DATABASE_NAME") else {}
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "dangqun.accounts.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "dangqun.accounts.passwords.CharacterClassValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on a missing root
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = not PRODUCTION

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }

# huey: SQLite storage by default, Redis when HUEY_URL=redis://...
HUEY_URL = os.environ.get("HUEY_URL", "")
HUEY_IMMEDIATE = os.environ.get("HUEY_IMMEDIATE", "1" if TESTING else "0") == "1"
if HUEY_URL.startswith("redis"):
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": "dangqun",
        "url": HUEY_URL,
        "immediate": HUEY_IMMEDIATE,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "dangqun",
        "filename": HUEY_URL.removeprefix("sqlite:///") or str(DATA_DIR / "huey.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
    }

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
if TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@dangqun.local")

# Security knobs read by accounts: lockout after repeated failures, 2FA for staff roles.
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
API_TOKEN_TTL_HOURS = int(os.environ.get("API_TOKEN_TTL_HOURS", "12"))
LOGIN_IP_MAX_FAILURES = int(os.environ.get("LOGIN_IP_MAX_FAILURES", "20"))
LOGIN_IP_WINDOW_SECONDS = int(os.environ.get("LOGIN_IP_WINDOW_SECONDS", "900"))
# Reverse proxies in front of gunicorn (nginx: 1). Their X-Forwarded-For entries name the client for
# rate limits; with 0 (direct exposure) the header is ignored, since any client can write it.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
