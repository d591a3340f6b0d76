"""SM2 signatures over e-certificates (GB/T 32918, GM/T 0003), with keys per issuer.

What is signed — the canonical message, ASCII, three lines joined by "\\n", no trailing newline:

    <identifier>
    <SM3 of the canonical certificate data, 64 lowercase hex>
    <SM3 of the PDF bytes as issued, 64 lowercase hex>

The signature is SM2 with the default user ID "1234567812345678" (GM/T 0009): e = SM3(Z ‖ M)
where Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA). It is stored as 128 hex characters,
r ‖ s, each 32 bytes big-endian. The protocol (Z, e, r, s) is gmalg's own SM2Core; only the
point arithmetic underneath is replaced by `_FastECDLP` below, because gmalg's affine
double-and-add took about 20 ms to sign and 43 ms to verify here, and a precomputed table for
G plus Jacobian coordinates bring that to a few milliseconds. Tests cross-check every
signature both ways against an unmodified `gmalg.SM2`.

Keys (see docs/certificates.md): for an issuer with credit code C, in this order
1. ``CERT_SM2_KEY_DIR/C.key`` — that issuer's own key (64 hex characters);
2. ``CERT_SM2_PRIVATE_KEY`` (64 hex) or the file named by ``CERT_SM2_KEY_FILE`` — the platform key;
3. outside production only: ``DANGQUN_DATA_DIR/cert-keys/C.key``, generated on first use.
In production a missing key is an error, never a generated one. Public keys of retired keys stay
verifiable through ``CERT_SM2_EXTRA_PUBLIC_KEYS`` (comma-separated 130-hex "04…" points).

The arithmetic is not constant-time (neither is gmalg's): signing happens only when staff issue
a certificate, never on an anonymous request, which keeps timing out of an attacker's reach.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from gmalg import ellipticcurve as ec
from gmalg.base import PC_MODE
from gmalg.sm2 import SM2Core, bytes_to_point, point_to_bytes
from gmalg.sm3 import SM3

from dangqun.core.crypto import sm3_hex

SM2_USER_ID = b"1234567812345678"

# GB/T 32918.5-2017 recommended curve parameters (the same numbers gmalg uses).
SM2_P = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFF
SM2_A = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_FFFFFFFF_00000000_FFFFFFFF_FFFFFFFC
SM2_B = 0x28E9FA9E_9D9F5E34_4D5A9E4B_CF6509A7_F39789F5_15AB8F92_DDBCBD41_4D940E93
SM2_GX = 0x32C4AE2C_1F198119_5F990446_6A39C994_8FE30BBF_F2660BE1_715A4589_334C74C7
SM2_GY = 0xBC3736A2_F4F6779C_59BDCEE3_6B692153_D0A9877C_C62A4740_02DF32E5_2139F0A0
SM2_N = 0xFFFFFFFE_FFFFFFFF_FFFFFFFF_FFFFFFFF_7203DF6B_21C6052B_53BBF409_39D54123

INF = ec.EllipticCurve.INF
_W = 4  # window width in bits
_WINDOWS = 256 // _W


# --- point arithmetic: Jacobian coordinates (X, Y, Z) ~ (X/Z², Y/Z³), a = -3 ----------------


def _jdouble(X: int, Y: int, Z: int) -> tuple[int, int, int]:
    # dbl-2001-b (a = -3)
    p = SM2_P
    if not Y:
        return 0, 1, 0
    delta = Z * Z % p
    gamma = Y * Y % p
    beta = X * gamma % p
    alpha = 3 * (X - delta) * (X + delta) % p
    X3 = (alpha * alpha - 8 * beta) % p
    Z3 = ((Y + Z) ** 2 - gamma - delta) % p
    Y3 = (alpha * (4 * beta - X3) - 8 * gamma * gamma) % p
    return X3, Y3, Z3


def _jadd_affine(X1: int, Y1: int, Z1: int, x2: int, y2: int) -> tuple[int, int, int]:
    """(X1, Y1, Z1) + affine (x2, y2)."""
    p = SM2_P
    if not Z1:
        return x2, y2, 1
    Z1Z1 = Z1 * Z1 % p
    H = (x2 * Z1Z1 - X1) % p
    r = (y2 * Z1 * Z1Z1 - Y1) % p
    if not H:
        return _jdouble(X1, Y1, Z1) if not r else (0, 1, 0)
    HH = H * H % p
    HHH = H * HH % p
    V = X1 * HH % p
    X3 = (r * r - HHH - 2 * V) % p
    Y3 = (r * (V - X3) - Y1 * HHH) % p
    return X3, Y3, Z1 * H % p


def _to_affine(X: int, Y: int, Z: int) -> ec.EcPoint:
    if not Z:
        return INF
    p = SM2_P
    zi = pow(Z, -1, p)
    zi2 = zi * zi % p
    return X * zi2 % p, Y * zi2 * zi % p


def _affine_multiples(P: ec.EcPoint, count: int) -> list[ec.EcPoint]:
    """[P, 2P, ..., count·P] in affine coordinates."""
    out, acc = [P], (P[0], P[1], 1)
    for _ in range(count - 1):
        acc = _jadd_affine(*acc, *P)
        out.append(_to_affine(*acc))
    return out


@lru_cache(maxsize=64)
def _window_table(P: ec.EcPoint) -> tuple[ec.EcPoint, ...]:
    """1·P … 15·P for the variable-base window method; cached for the few public keys in use."""
    return tuple(_affine_multiples(P, (1 << _W) - 1))


def _mul(k: int, P: ec.EcPoint) -> ec.EcPoint:
    """k·P, fixed 4-bit windows, most significant first."""
    if P == INF:
        return INF
    table = _window_table(P)
    acc = (0, 1, 0)
    for shift in range(((k.bit_length() + _W - 1) // _W - 1) * _W, -1, -_W):
        for _ in range(_W):
            acc = _jdouble(*acc)
        digit = (k >> shift) & 0xF
        if digit:
            acc = _jadd_affine(*acc, *table[digit - 1])
    return _to_affine(*acc)


class _GTable:
    """Fixed-base comb for G: rows[i][j-1] = j·16^i·G, 64 rows × 15 affine points (~25 ms once)."""

    def __init__(self) -> None:
        self._rows: list[list[ec.EcPoint]] | None = None
        self._lock = threading.Lock()

    def rows(self) -> list[list[ec.EcPoint]]:
        if self._rows is None:
            with self._lock:
                if self._rows is None:
                    rows, base = [], (SM2_GX, SM2_GY)
                    for _ in range(_WINDOWS):
                        row = _affine_multiples(base, 1 << _W)  # 1..16 · base
                        rows.append(row[:-1])
                        base = row[-1]
                    self._rows = rows
        return self._rows

    def mul(self, k: int) -> ec.EcPoint:
        k %= SM2_N
        rows, acc, i = self.rows(), (0, 1, 0), 0
        while k:
            digit = k & 0xF
            if digit:
                acc = _jadd_affine(*acc, *rows[i][digit - 1])
            k >>= _W
            i += 1
        return _to_affine(*acc)


_G_TABLE = _GTable()


class _FastCurve(ec.EllipticCurve):
    def mul(self, k: int, P: ec.EcPoint) -> ec.EcPoint:
        return _mul(k, P)


class _FastECDLP(ec.ECDLP):
    def __init__(self) -> None:
        super().__init__(SM2_P, SM2_A, SM2_B, (SM2_GX, SM2_GY), SM2_N)
        self.ec = _FastCurve(self.fp, SM2_A, SM2_B)

    def kG(self, k: int) -> ec.EcPoint:
        return _G_TABLE.mul(k)


class _Core(SM2Core):
    """gmalg's SM2 protocol with thread-safe C SM3 (the base class shares one hash object)."""

    def _hash_fn(self, data: bytes) -> bytes:
        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize()


_CORE = _Core(_FastECDLP(), SM3())


# --- keys ---------------------------------------------------------------------------------


class SigningKeyError(ImproperlyConfigured):
    pass


@dataclass(frozen=True)
class PublicKey:
    point: ec.EcPoint

    @property
    def hex(self) -> str:
        return point_to_bytes(self.point, PC_MODE.RAW).hex()

    @property
    def key_id(self) -> str:
        """First 16 hex characters of SM3 over the uncompressed point (04 ‖ x ‖ y)."""
        return sm3_hex(bytes.fromhex(self.hex))[:16]

    @classmethod
    def from_hex(cls, value: str) -> PublicKey:
        raw = bytes.fromhex(value.strip())
        if len(raw) != 65 or raw[0] != 4:
            raise SigningKeyError("SM2 公钥应为 130 位十六进制（04 开头的未压缩点）")
        point = bytes_to_point(raw)
        if not _CORE.verify_pk(point):
            raise SigningKeyError("SM2 公钥不在曲线上")
        return cls(point)


@dataclass(frozen=True)
class SigningKey:
    secret: int
    public: PublicKey
    source: str  # where it came from, for operators ("CERT_SM2_KEY_FILE", "demo:<path>"...)

    @property
    def key_id(self) -> str:
        return self.public.key_id


def _parse_secret(text: str, source: str) -> SigningKey:
    value = text.strip().lower().removeprefix("0x")
    try:
        secret = int(value, 16)
    except ValueError:
        raise SigningKeyError(f"{source}：SM2 私钥应为 64 位十六进制") from None
    if len(value) != 64 or not 1 <= secret <= SM2_N - 2:
        raise SigningKeyError(f"{source}：SM2 私钥应为 64 位十六进制，且在 [1, n-2] 之内")
    return SigningKey(secret, PublicKey(_CORE.generate_pk(secret)), source)


def generate_secret_hex() -> str:
    """A new SM2 private key, 64 hex characters (secrets-based, in [1, n-2])."""
    return f"{secrets.randbelow(SM2_N - 2) + 1:064x}"


def _setting(name: str, default: str = "") -> str:
    return str(getattr(settings, name, "") or os.environ.get(name, "") or default)


def _demo_dir() -> Path:
    return Path(settings.DATA_DIR) / "cert-keys"


def _key_path(directory: Path, credit_code: str) -> Path:
    if not credit_code.isalnum():
        raise SigningKeyError("统一社会信用代码格式不正确，无法定位签名密钥")
    return directory / f"{credit_code}.key"


_cache_lock = threading.Lock()
_cache: dict[tuple[str, ...], SigningKey] = {}


def _load_file(path: Path, source: str) -> SigningKey:
    key = (str(path), str(path.stat().st_mtime_ns))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    loaded = _parse_secret(path.read_text(), source)
    with _cache_lock:
        _cache[key] = loaded
    return loaded


def platform_key() -> SigningKey | None:
    """The platform key from CERT_SM2_PRIVATE_KEY or CERT_SM2_KEY_FILE, if configured."""
    inline = _setting("CERT_SM2_PRIVATE_KEY")
    if inline:
        with _cache_lock:
            cached = _cache.get(("inline", inline))
        if cached is None:
            cached = _parse_secret(inline, "CERT_SM2_PRIVATE_KEY")
            with _cache_lock:
                _cache[("inline", inline)] = cached
        return cached
    path = _setting("CERT_SM2_KEY_FILE")
    if path:
        return _load_file(Path(path), "CERT_SM2_KEY_FILE")
    return None


def _create_demo_key(path: Path) -> None:
    """Write a new key atomically: link() fails if another process won the race, which is fine."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(generate_secret_hex() + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def key_dir() -> str:
    return _setting("CERT_SM2_KEY_DIR")


def signing_key_for(credit_code: str) -> SigningKey:
    """The key that signs for the issuer with this credit code (order in the module docstring)."""
    key_dir = _setting("CERT_SM2_KEY_DIR")
    if key_dir:
        own = _key_path(Path(key_dir), credit_code)
        if own.exists():
            return _load_file(own, f"CERT_SM2_KEY_DIR/{own.name}")
    configured = platform_key()
    if configured:
        return configured
    if getattr(settings, "PRODUCTION", False):
        raise SigningKeyError(
            "生产环境必须配置电子证照签名密钥：CERT_SM2_PRIVATE_KEY、CERT_SM2_KEY_FILE 或 CERT_SM2_KEY_DIR"
        )
    demo = _key_path(_demo_dir(), credit_code)
    if not demo.exists():
        _create_demo_key(demo)
    return _load_file(demo, f"demo:{demo}")


def known_public_keys() -> dict[str, PublicKey]:
    """Every public key that verification trusts, by key id."""
    keys: list[PublicKey] = []
    configured = platform_key()
    if configured:
        keys.append(configured.public)
    dirs = [Path(d) for d in [_setting("CERT_SM2_KEY_DIR")] if d]
    if not getattr(settings, "PRODUCTION", False):
        dirs.append(_demo_dir())
    for directory in dirs:
        if directory.is_dir():
            keys.extend(_load_file(path, str(path)).public for path in sorted(directory.glob("*.key")))
    for value in _setting("CERT_SM2_EXTRA_PUBLIC_KEYS").split(","):
        if value.strip():
            keys.append(_public_from_hex(value.strip()))
    return {k.key_id: k for k in keys}


@lru_cache(maxsize=64)
def _public_from_hex(value: str) -> PublicKey:
    return PublicKey.from_hex(value)


def public_key(key_id: str) -> PublicKey | None:
    return known_public_keys().get(key_id)


# --- messages, signatures -----------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes): the bytes whose SM3 is signed."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def signed_message(identifier: str, data_sm3: str, pdf_sm3: str) -> bytes:
    return f"{identifier}\n{data_sm3}\n{pdf_sm3}".encode("ascii")


def sign(message: bytes, key: SigningKey) -> str:
    r, s = _CORE.sign(message, key.secret, SM2_USER_ID, key.public.point)
    return f"{r:064x}{s:064x}"


def verify(message: bytes, signature: str, key: PublicKey) -> bool:
    if len(signature) != 128:
        return False
    try:
        r, s = int(signature[:64], 16), int(signature[64:], 16)
    except ValueError:
        return False
    return _CORE.verify(message, r, s, SM2_USER_ID, key.point)
