"""E-certificates: issued per second (with the PDF) and verified per second.

    uv run python bench/certs_issue_verify.py                      # SQLite, 40 issued, 2 s per check
    uv run python bench/certs_issue_verify.py --issue 100 --seconds 5
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test uv run python bench/certs_issue_verify.py

In one process, against a temporary database (migrated first, DEBUG off): creates an issuer
with a credit code and a street administrator, then
1. issues --issue certificates through certs.actions.do_issue_certificate (serial, identifier,
   WeasyPrint PDF, SM3, SM2 signature, file write, audit) and reports certificates/s, with the
   PDF rendering and the signature timed apart;
2. verifies by identifier (queries.verify_identifier: parse, check character, lookup, data
   digest, SM2 verification) and through the API (GET /api/v1/certs/verify/<id> via Django's
   test client, no socket) for --seconds each;
3. verifies by PDF upload (POST /api/v1/certs/verify, multipart) for --seconds;
4. times SM2 sign/verify with unmodified gmalg next to certs.signing's precomputed tables.
Rate limits are lifted for the run. Prints figures; never fails on time.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path


def per_second(fn: Callable[[int], object], seconds: float) -> tuple[float, int]:
    """Call fn(i) back to back for `seconds`; (calls per second, calls)."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        fn(count)
        count += 1
    return count / elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issue", type=int, default=40, help="certificates to issue (default 40)")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per verification check")
    parser.add_argument("--seed", type=int, default=20260601)
    opts = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="dangqun-certs-bench-"))
    os.environ["DANGQUN_DATA_DIR"] = str(data_dir)
    os.environ["DEBUG"] = "0"
    os.environ.pop("PYTEST_VERSION", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "dangqun.config.settings"
    os.environ["CERT_VERIFY_RATE"] = os.environ["CERT_VERIFY_UPLOAD_RATE"] = "1000000000/60"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://")):
        sys.path.insert(0, str(Path(__file__).parent))
        from subtree import scratch_postgres

        os.environ["DATABASE_URL"], cleanup = scratch_postgres(given)
    else:
        os.environ.pop("DATABASE_URL", None)

    import django

    django.setup()
    import gmalg
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from dangqun.accounts.choices import Role
    from dangqun.accounts.models import RoleGrant, User
    from dangqun.certs import actions, pdf, signing
    from dangqun.certs.queries import verify_identifier
    from dangqun.core.validators import credit_check_char
    from dangqun.orgs.actions import do_create_organization
    from dangqun.orgs.choices import OrgKind

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call_command("migrate", verbosity=0)
        engine = (
            "PostgreSQL"
            if connection.vendor == "postgresql"
            else f"SQLite {connection.Database.sqlite_version}"
        )
        root = User.objects.create_superuser("bench-root", "root@example.org", "Bench-Passw0rd!")
        street = do_create_organization(name="幸福街道", kind=OrgKind.STREET, parent=None, actor=root)
        code = "11110105MB000001" + "0"
        issuer = do_create_organization(
            name="社会保障科",
            kind=OrgKind.DEPARTMENT,
            parent=street,
            actor=root,
            credit_code=code + credit_check_char(code),
        )
        admin = User.objects.create_user("bench-admin", password="Bench-Passw0rd!", full_name="王街道")
        RoleGrant.objects.create(user=admin, role=Role.STREET_ADMIN, organization=street)

        rng = random.Random(opts.seed)
        surnames, given_names = "王李张刘陈杨赵黄周吴", ["小明", "建国", "秀英", "海燕", "志强", "丽", "伟"]

        # Time the PDF renderer and the signer on their own, by wrapping them for the run.
        render_times: list[float] = []
        sign_times: list[float] = []
        real_render, real_sign = actions.render_certificate_pdf, signing.sign

        def timed_render(content: pdf.CertificateContent) -> bytes:
            t = time.perf_counter()
            out = real_render(content)
            render_times.append(time.perf_counter() - t)
            return out

        def timed_sign(message: bytes, key: signing.SigningKey) -> str:
            t = time.perf_counter()
            out = real_sign(message, key)
            sign_times.append(time.perf_counter() - t)
            return out

        actions.render_certificate_pdf, signing.sign = timed_render, timed_sign
        actions.do_issue_certificate(issuer, "ZDSHBZZ", {"name": "预热"}, {"说明": "预热"}, actor=admin)
        render_times.clear()
        sign_times.clear()
        certs, sizes = [], []
        started = time.perf_counter()
        for i in range(opts.issue):
            cert = actions.do_issue_certificate(
                issuer,
                rng.choice(["ZDSHBZZ", "SBKSLHZ", "LNRYDZ"]),
                {"name": rng.choice(surnames) + rng.choice(given_names)},
                {
                    "保障人数": f"{rng.randint(1, 6)} 人",
                    "月保障金额": f"{rng.randint(500, 3000)}.00 元",
                    "序号": i,
                },
                actor=admin,
            )
            certs.append(cert)
            sizes.append(cert.pdf.size)
        issued_s = time.perf_counter() - started
        actions.render_certificate_pdf, signing.sign = real_render, real_sign
        print(f"{engine}; gmalg {metadata.version('gmalg')} (pure Python) under certs.signing's tables")
        print(
            f"issue with PDF: {opts.issue / issued_s:.1f} certificates/s ({opts.issue} in {issued_s:.2f} s); "
            f"PDF render median {statistics.median(render_times) * 1000:.0f} ms, "
            f"SM2 sign median {statistics.median(sign_times) * 1000:.2f} ms, "
            f"PDF size median {statistics.median(sizes) / 1024:.0f} KiB"
        )

        identifiers = [c.identifier for c in certs]
        rate, n = per_second(lambda i: verify_identifier(identifiers[i % len(identifiers)]), opts.seconds)
        print(f"verify by identifier (queries.verify_identifier): {rate:,.0f}/s ({n:,} checks)")
        client = Client()

        def api_get(i: int) -> None:
            response = client.get(f"/api/v1/certs/verify/{identifiers[i % len(identifiers)]}")
            if response.status_code != 200 or response.json()["status"] != "valid":
                raise RuntimeError(response.content.decode())

        rate, n = per_second(api_get, opts.seconds)
        print(
            f"verify by identifier (GET /api/v1/certs/verify/<id>, in-process): {rate:,.0f}/s ({n:,} calls)"
        )
        contents = []
        for c in certs[:10]:
            with c.pdf.open("rb") as fh:
                contents.append(fh.read())

        def api_upload(i: int) -> None:
            upload = SimpleUploadedFile("c.pdf", contents[i % len(contents)], content_type="application/pdf")
            response = client.post("/api/v1/certs/verify", {"pdf": upload})
            if response.status_code != 200 or response.json()["status"] != "valid":
                raise RuntimeError(response.content.decode())

        rate, n = per_second(api_upload, opts.seconds)
        print(f"verify by PDF upload (POST /api/v1/certs/verify, in-process): {rate:,.0f}/s ({n:,} requests)")

        key = signing.signing_key_for(issuer.credit_code)
        message = signing.signed_message(certs[0].identifier, "a" * 64, "b" * 64)
        reference = gmalg.SM2(key.secret.to_bytes(32, "big"), signing.SM2_USER_ID)
        r, s = reference.sign(message)
        ours = signing.sign(message, key)
        for label, fn in [
            ("gmalg SM2 sign", lambda i: reference.sign(message)),
            ("gmalg SM2 verify", lambda i: reference.verify(message, r, s)),
            ("certs.signing sign", lambda i: signing.sign(message, key)),
            ("certs.signing verify", lambda i: signing.verify(message, ours, key.public)),
        ]:
            rate, n = per_second(fn, min(opts.seconds, 1.0))
            print(f"  {label}: {1000 / rate:.2f} ms each ({n} runs)")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
