from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

StatusLiteral = Literal["valid", "revoked", "expired", "unknown", "tampered"]


class VerifyOut(Schema):
    """What anyone may learn about a certificate: never the ID number nor the fields."""

    status: StatusLiteral = Field(
        ...,
        description="valid 有效 / revoked 已注销 / expired 已过期 / unknown 查无此证 / tampered 未通过校验",
    )
    message: str = Field(..., description="给查验人看的结论（中文）")
    identifier: str = Field("", description="规范化后的证照标识")
    type: str | None = Field(None, description="证照名称")
    type_code: str | None = None
    issuer: str | None = Field(None, description="签发单位（签发时的名称）")
    issuer_credit_code: str | None = None
    issued_at: datetime | None = None
    valid_until: date | None = None
    holder_masked: str | None = Field(None, description="脱敏的持证人姓名，如 张*明")
    revoked_at: datetime | None = None
    key_id: str | None = Field(None, description="签名密钥标识，见 /certs/keys")
    signature: str | None = Field(None, description="SM2 签名 r‖s，128 位十六进制")
    data_sm3: str | None = Field(None, description="证照数据（规范 JSON）的 SM3")
    pdf_sm3: str | None = Field(None, description="签发时 PDF 文件的 SM3")


class PublicKeyOut(Schema):
    key_id: str
    algorithm: str = "SM2"
    curve: str = "sm2p256v1 (GB/T 32918.5)"
    user_id: str = "1234567812345678"
    public_key: str = Field(..., description="未压缩公钥 04‖x‖y，130 位十六进制")


class RevokeIn(Schema):
    reason: str = Field(..., min_length=2, max_length=200, examples=["证照信息有误，已重新签发"])


class CertificateOut(Schema):
    identifier: str
    type: str
    type_code: str
    issuer_id: int
    issuer: str
    issuer_credit_code: str
    holder_masked: str
    issued_at: datetime
    valid_until: date | None
    status: Literal["valid", "revoked"]
    revoked_at: datetime | None
    revoke_reason: str
    source: str
