"""SM2 over certificates: the standard vector, gmalg cross-checks, tamper detection, key sources."""

from __future__ import annotations

import secrets

import gmalg
import pytest
from django.core.checks import run_checks
from gmalg.sm3 import SM3
from hypothesis import given, settings
from hypothesis import strategies as st

from dangqun.certs import signing as S

from .conftest import DEPT_CREDIT, HALL_CREDIT

# GM/T 0003.5-2012 (GB/T 32918.5) example with the recommended curve: key, nonce, message and ID.
STD_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
STD_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
STD_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
STD_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
STD_PUB = (
    0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020,
    0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13,
)


def test_it_reproduces_the_standard_sm2_signature_example():
    core = S._Core(S._FastECDLP(), SM3(), rnd_fn=lambda bits: STD_K)
    assert core.generate_pk(STD_D) == STD_PUB
    assert core.sign(b"message digest", STD_D, S.SM2_USER_ID, STD_PUB) == (STD_R, STD_S)
    assert S.verify(b"message digest", f"{STD_R:064x}{STD_S:064x}", S.PublicKey(STD_PUB))


def test_the_curve_is_gmalgs_sm2_curve():
    from gmalg.sm2 import _ecdlp

    assert (_ecdlp.fp.p, _ecdlp.ec.a, _ecdlp.ec.b, _ecdlp.G, _ecdlp.fpn.p) == (
        S.SM2_P,
        S.SM2_A,
        S.SM2_B,
        (S.SM2_GX, S.SM2_GY),
        S.SM2_N,
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=S.SM2_N - 1))
def test_fast_scalar_multiplication_equals_gmalgs(k):
    from gmalg.sm2 import _ecdlp

    reference = _ecdlp.ec.mul(k, _ecdlp.G)
    assert S._G_TABLE.mul(k) == reference
    assert S._mul(k, (S.SM2_GX, S.SM2_GY)) == reference


def test_signatures_cross_check_with_unmodified_gmalg_both_ways():
    for _ in range(8):
        secret_hex = S.generate_secret_hex()
        key = S._parse_secret(secret_hex, "test")
        reference = gmalg.SM2(bytes.fromhex(secret_hex), S.SM2_USER_ID)
        assert reference.generate_pk(bytes.fromhex(secret_hex)).hex() == key.public.hex
        message = secrets.token_bytes(64)
        ours = S.sign(message, key)
        assert reference.verify(message, bytes.fromhex(ours[:64]), bytes.fromhex(ours[64:]))
        r, s = reference.sign(message)
        theirs = r.rjust(32, b"\0").hex() + s.rjust(32, b"\0").hex()
        assert S.verify(message, theirs, key.public)


def test_any_change_to_the_signed_message_or_signature_fails():
    key = S._parse_secret(S.generate_secret_hex(), "test")
    message = S.signed_message("1.2.156.3005.2.ZDSHBZZ.X.00000001.001.Q", "a" * 64, "b" * 64)
    signature = S.sign(message, key)
    assert S.verify(message, signature, key.public)
    for changed in (
        S.signed_message("1.2.156.3005.2.ZDSHBZZ.X.00000001.001.R", "a" * 64, "b" * 64),
        S.signed_message("1.2.156.3005.2.ZDSHBZZ.X.00000001.001.Q", "c" + "a" * 63, "b" * 64),
        S.signed_message("1.2.156.3005.2.ZDSHBZZ.X.00000001.001.Q", "a" * 64, "b" * 63 + "c"),
    ):
        assert not S.verify(changed, signature, key.public)
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert not S.verify(message, flipped, key.public)
    assert not S.verify(message, signature[:-2], key.public)
    assert not S.verify(message, "z" * 128, key.public)
    other = S._parse_secret(S.generate_secret_hex(), "test")
    assert not S.verify(message, signature, other.public)


def test_a_configured_private_key_signs_for_every_issuer(settings):
    secret = S.generate_secret_hex()
    settings.CERT_SM2_PRIVATE_KEY = secret
    key = S.signing_key_for(DEPT_CREDIT)
    assert key.secret == int(secret, 16)
    assert S.signing_key_for(HALL_CREDIT) == key
    assert key.key_id in S.known_public_keys()


def test_a_key_file_and_a_per_issuer_key_directory(settings, tmp_path):
    platform, own = S.generate_secret_hex(), S.generate_secret_hex()
    (tmp_path / "platform.key").write_text(platform + "\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / f"{DEPT_CREDIT}.key").write_text(own)
    settings.CERT_SM2_KEY_FILE = str(tmp_path / "platform.key")
    settings.CERT_SM2_KEY_DIR = str(tmp_path / "keys")
    assert S.signing_key_for(DEPT_CREDIT).secret == int(own, 16)
    assert S.signing_key_for(HALL_CREDIT).secret == int(platform, 16)
    assert len(S.known_public_keys()) == 2


def test_demo_keys_are_generated_per_issuer_and_kept(settings):
    first = S.signing_key_for(DEPT_CREDIT)
    assert S.signing_key_for(DEPT_CREDIT) == first
    assert S.signing_key_for(HALL_CREDIT).key_id != first.key_id
    path = settings.DATA_DIR / "cert-keys" / f"{DEPT_CREDIT}.key"
    assert path.stat().st_mode & 0o077 == 0  # readable by the owner only


def test_production_refuses_to_generate_a_key(settings):
    settings.PRODUCTION = True
    with pytest.raises(S.SigningKeyError, match="生产环境必须配置"):
        S.signing_key_for(DEPT_CREDIT)
    assert "certs.E001" in [e.id for e in run_checks()]
    settings.CERT_SM2_PRIVATE_KEY = S.generate_secret_hex()
    assert "certs.E001" not in [e.id for e in run_checks()]


@pytest.mark.parametrize("bad", ["12", "g" * 64, "0" * 64, f"{S.SM2_N:064x}"])
def test_a_malformed_private_key_is_refused(settings, bad):
    settings.CERT_SM2_PRIVATE_KEY = bad
    with pytest.raises(S.SigningKeyError):
        S.signing_key_for(DEPT_CREDIT)
    assert "certs.E002" in [e.id for e in run_checks()]


def test_a_public_key_off_the_curve_is_refused():
    good = S._parse_secret(S.generate_secret_hex(), "test").public.hex
    with pytest.raises(S.SigningKeyError):
        S.PublicKey.from_hex(good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert S.PublicKey.from_hex(good).hex == good
