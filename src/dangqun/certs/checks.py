"""System check: in production the certificate signing key must be configured (and parse)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from . import signing


@register("certs")
def signing_key_check(app_configs, **kwargs):
    errors = []
    try:
        configured = signing.platform_key()
    except (signing.SigningKeyError, OSError) as exc:
        return [Error(f"电子证照签名密钥无法读取：{exc}", id="certs.E002")]
    if getattr(settings, "PRODUCTION", False) and configured is None and not signing.key_dir():
        errors.append(
            Error(
                "生产环境必须配置电子证照签名密钥。",
                hint="设置 CERT_SM2_PRIVATE_KEY（64 位十六进制）、CERT_SM2_KEY_FILE 或 CERT_SM2_KEY_DIR。",
                id="certs.E001",
            )
        )
    return errors
