import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dangqun.core import crypto


def test_sm4_gcm_round_trips_and_uses_a_fresh_nonce_each_time():
    a, b = crypto.encrypt("11010519491231002X"), crypto.encrypt("11010519491231002X")
    assert a != b
    assert crypto.decrypt(a) == crypto.decrypt(b) == "11010519491231002X"
    assert "11010519491231002X" not in a


def test_it_is_real_sm4_gcm_decryptable_with_the_standard_primitive(settings):
    import base64

    token = crypto.encrypt("测试")
    raw = base64.b64decode(token[3:])
    key = bytes.fromhex(settings.FIELD_ENCRYPTION_KEY)[:16]
    dec = Cipher(algorithms.SM4(key), modes.GCM(raw[:12], raw[-16:])).decryptor()
    assert (dec.update(raw[12:-16]) + dec.finalize()).decode() == "测试"


def test_a_tampered_ciphertext_is_refused():
    import base64

    raw = bytearray(base64.b64decode(crypto.encrypt("13800138000")[3:]))
    raw[14] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("v1:" + base64.b64encode(bytes(raw)).decode())


def test_blind_index_is_deterministic_keyed_and_separated_by_purpose(settings):
    idx = crypto.blind_index("11010519491231002x", purpose="id")
    assert idx == crypto.blind_index(" 11010519491231002X", purpose="id")
    assert idx != crypto.blind_index("11010519491231002X", purpose="phone")
    settings.FIELD_ENCRYPTION_KEY = "11" * 32
    assert idx != crypto.blind_index("11010519491231002X", purpose="id")


def test_sm3_matches_the_standard_test_vector():
    # GB/T 32905-2016 appendix A example 1: SM3("abc")
    assert crypto.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
