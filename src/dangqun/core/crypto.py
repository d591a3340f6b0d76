"""Field encryption with Chinese national algorithms (GM/T).

* SM4-GCM (cryptography, OpenSSL) encrypts sensitive fields at rest: ID numbers, phones,
  TOTP secrets. Stored as "v1:" + base64(nonce | ciphertext | tag); a fresh 96-bit nonce per
  value, so the same ID encrypts differently each time.
* HMAC-SM3 gives a blind index: equal plaintexts → equal digests, so an ID can be found
  without decrypting every row, and the digest reveals nothing without the key.
* SM3 hashes the audit chain.

The key (settings.FIELD_ENCRYPTION_KEY, 64 hex chars) is split: the first 16 bytes encrypt,
the last 16 bytes key the blind index, so one cannot be derived from the other.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

PREFIX = "v1:"
NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(ValueError):
    pass


@lru_cache(maxsize=4)
def _keys(material: str) -> tuple[bytes, bytes]:
    raw = bytes.fromhex(material)
    if len(raw) != 32:
        raise ValueError("FIELD_ENCRYPTION_KEY must be 64 hex characters (32 bytes)")
    return raw[:16], raw[16:]


def _enc_key() -> bytes:
    return _keys(settings.FIELD_ENCRYPTION_KEY)[0]


def _index_key() -> bytes:
    return _keys(settings.FIELD_ENCRYPTION_KEY)[1]


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    enc = Cipher(algorithms.SM4(_enc_key()), modes.GCM(nonce)).encryptor()
    body = enc.update(plaintext.encode()) + enc.finalize()
    return PREFIX + base64.b64encode(nonce + body + enc.tag).decode()


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise DecryptionError("unknown ciphertext format")
    raw = base64.b64decode(token[len(PREFIX) :])
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(_enc_key()), modes.GCM(nonce, tag)).decryptor()
    try:
        return (dec.update(body) + dec.finalize()).decode()
    except InvalidTag as exc:
        raise DecryptionError("ciphertext was altered or the key is wrong") from exc


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def blind_index(value: str, *, purpose: str) -> str:
    """HMAC-SM3 of a normalized value; `purpose` separates ID-number and phone indexes."""
    return hmac_sm3_hex(_index_key(), purpose.encode() + b"\x00" + value.strip().upper().encode())


def webhook_signature(body: bytes, secret: str) -> str:
    """What outgoing webhooks (one-stop, learning) carry: HMAC-SM3 of the request body, hex."""
    return hmac_sm3_hex(secret.encode(), body)


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()
