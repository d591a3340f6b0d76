"""Checks of an uploaded material, from the bytes themselves (never the name or the browser's type).

The type comes from the file's magic bytes (PDF ``%PDF-``, JPEG ``FF D8 FF``, PNG's 8-byte
signature) and its structure must be whole (a PDF that pypdf can open and count, a JPEG that ends
with its EOI marker, a PNG with its IEND chunk). Pages are counted from the PDF itself.
Every refusal says what is wrong and what to do.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _

from dangqun.core.errors import RuleViolation

from .choices import FileKind

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KIND_LABELS = {FileKind.PDF: "PDF", FileKind.JPEG: "JPG", FileKind.PNG: "PNG"}


@dataclass(frozen=True)
class CheckedFile:
    kind: str
    size: int
    pages: int
    sha256: str


def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return FileKind.PDF
    if data.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if data.startswith(PNG_SIGNATURE):
        return FileKind.PNG
    return None


# Names that make a PDF act when opened (scripts, launched programs, embedded files, forms that
# submit): a material is a document to read, never a program. Checked in the raw bytes (names
# outside compressed streams) and in the document catalog pypdf reads.
ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|OpenAction|AA|SubmitForm|RichMedia|XFA)\b")


def pdf_is_active(data: bytes) -> bool:
    if ACTIVE_PDF.search(data):
        return True
    from pypdf import PdfReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            root = PdfReader(io.BytesIO(data), strict=False).trailer["/Root"]
            names = root.get("/Names", {})
            return any(k in root for k in ("/OpenAction", "/AA")) or any(
                k in names for k in ("/JavaScript", "/EmbeddedFiles")
            )
        except Exception:
            return False


def pdf_pages(data: bytes) -> int:
    """Page count read by pypdf; raises ValueError for a damaged or encrypted PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about recoverable oddities; the count decides
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise ValueError("encrypted")
            return len(reader.pages)
        except (PdfReadError, OSError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ValueError(str(exc)) from None
        except RecursionError:
            raise ValueError("recursion") from None


def _image_whole(kind: str, data: bytes) -> bool:
    if kind == FileKind.JPEG:
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    # PNG: the last chunk is IEND (length 0, type IEND, CRC AE 42 60 82).
    return data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")


def check_file(
    data: bytes, *, allowed: list[str], max_size_kb: int, max_pages: int, material: str
) -> CheckedFile:
    """The facts of an acceptable upload, or a RuleViolation naming the problem."""
    size = len(data)
    names = "、".join(KIND_LABELS.get(k, k) for k in allowed)
    if size == 0:
        raise RuleViolation(
            "file_empty", _("“%(m)s”的文件是空的，请重新选择。") % {"m": material}, field="file"
        )
    if size > max_size_kb * 1024:
        raise RuleViolation(
            "file_too_large",
            _("“%(m)s”的文件有 %(got)s KB，超过了 %(max)s KB 的上限，请压缩后再上传。")
            % {"m": material, "got": (size + 1023) // 1024, "max": max_size_kb},
            {"size": size, "max_size_kb": max_size_kb},
            field="file",
        )
    kind = sniff(data)
    if kind is None or kind not in allowed:
        raise RuleViolation(
            "file_type",
            _("“%(m)s”只接受 %(kinds)s 文件；所选文件不是这些格式（按文件内容判断，与扩展名无关）。")
            % {"m": material, "kinds": names},
            {"allowed": list(allowed)},
            field="file",
        )
    pages = 1
    if kind == FileKind.PDF:
        try:
            pages = pdf_pages(data)
        except ValueError:
            raise RuleViolation(
                "file_damaged",
                _("“%(m)s”的 PDF 文件无法打开（可能已损坏或加了密码），请重新导出后上传。") % {"m": material},
                field="file",
            ) from None
        if pages == 0:
            raise RuleViolation(
                "file_damaged", _("“%(m)s”的 PDF 文件没有页面。") % {"m": material}, field="file"
            )
        if pdf_is_active(data):
            raise RuleViolation(
                "file_active_content",
                _("“%(m)s”的 PDF 含有脚本、自动动作或嵌入文件，不能接收；请用“打印为 PDF”另存一份再上传。")
                % {"m": material},
                field="file",
            )
        if pages > max_pages:
            raise RuleViolation(
                "file_too_many_pages",
                _("“%(m)s”最多 %(max)s 页，所选 PDF 有 %(got)s 页。")
                % {"m": material, "max": max_pages, "got": pages},
                {"pages": pages, "max_pages": max_pages},
                field="file",
            )
    elif not _image_whole(kind, data):
        raise RuleViolation(
            "file_damaged",
            _("“%(m)s”的图片不完整（可能未传完或已损坏），请重新拍摄或选择。") % {"m": material},
            field="file",
        )
    return CheckedFile(kind=kind, size=size, pages=pages, sha256=hashlib.sha256(data).hexdigest())
