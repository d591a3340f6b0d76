"""What the load needs in a seeded stack, and the checks after it. Run with the stack's settings:

    python ops/fixtures.py prepare                 → JSON: bearer tokens per persona, item codes
    python ops/fixtures.py verify LEDGER RECEIVED  → JSON: lost / duplicated / notifications / audit

`prepare` adds one item whose only material is shared data (uploads disabled, as issue 4's
submission benchmark) to the demo street and issues bearer tokens for the demo accounts and
for --residents generated residents. `verify` reads the load's ledger (one JSON line per
acknowledged submission: user, idempotency key, number) and the webhook receiver's counts.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dangqun.config.settings")

LOAD_ITEM = "900010001000"


def prepare(residents: int) -> dict:
    from dangqun.accounts.choices import Role
    from dangqun.accounts.models import RoleGrant, User
    from dangqun.accounts.tokens import issue_token
    from dangqun.onestop.actions import do_save_item
    from dangqun.onestop.models import ServiceItem
    from dangqun.onestop.rules import implementation_code

    admin = User.objects.get(username="admin")
    dept = RoleGrant.objects.get(user__username="dept_admin", role=Role.DEPARTMENT_ADMIN).organization
    window = RoleGrant.objects.get(user__username="window", role=Role.WINDOW_STAFF).organization
    credit = "11330106MB0000001G"
    if not ServiceItem.objects.filter(code=LOAD_ITEM).exists():
        do_save_item(
            None,
            actor=admin,
            code=LOAD_ITEM,
            implementation_code=implementation_code(credit, "5", LOAD_ITEM),
            name="社会保障卡信息变更（压测）",
            department=dept,
            receiving_org=window,
            implementer_credit_code=credit,
            item_type="20",
            handling_mode="2",
            promised_limit_days=10,
            channels=["web"],
            result_type="none",
            form_schema={
                "fields": [
                    {"name": "applicant_name", "label": "申请人姓名", "type": "text", "required": True}
                ]
            },
            materials=[{"name": "居民身份证", "shared": "id_card"}],
        )
    people = list(User.objects.filter(username__startswith="demo_r").order_by("pk")[:residents])
    tokens = {
        name: issue_token(User.objects.get(username=name), name="load")[0]
        for name in ("member", "secretary", "window", "dept_admin", "street_admin")
    }
    tokens["residents"] = [[u.username, issue_token(u, name="load")[0]] for u in people]
    codes = list(ServiceItem.objects.filter(status="active").values_list("code", flat=True)[:60])
    return {"item": LOAD_ITEM, "tokens": tokens, "guides": codes}


def verify(ledger_path: str, received_path: str) -> dict:
    """Every acknowledged submission exactly once; every announcement delivered exactly once."""
    from django.db.models import Count

    from dangqun.core.audit import seal
    from dangqun.core.audit import verify as verify_chain
    from dangqun.core.models import Notification
    from dangqun.onestop.models import Application, Event, WebhookDelivery

    with open(ledger_path, encoding="utf-8") as f:
        ledger = [json.loads(line) for line in f if line.strip()]
    acked = {(e["user"], e["key"]): e["number"] for e in ledger}
    conflicting = len({(e["user"], e["key"]) for e in ledger if acked[(e["user"], e["key"])] != e["number"]})
    rows = {
        (created_by, key): number
        for created_by, key, number in Application.objects.filter(number__in=set(acked.values())).values_list(
            "created_by__username", "idempotency_key", "number"
        )
    }
    lost = sum(1 for k, number in acked.items() if rows.get(k) != number)
    duplicated = (
        Application.objects.exclude(idempotency_key=None)
        .values("created_by", "idempotency_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    submits = Event.objects.filter(action="submit")
    pending = Event.objects.filter(pending_announce=True).count()
    keys = [f"onestop:{a}:{e}" for a, e in submits.values_list("application_id", "pk")]
    notified = Counter(Notification.objects.filter(key__in=keys).values_list("key", flat=True))
    with open(received_path, encoding="utf-8") as f:
        received = json.load(f)
    deliveries = set(WebhookDelivery.objects.filter(key__in=keys).values_list("key", flat=True))
    seal()
    chain = verify_chain()
    return {
        "acknowledged": len(acked),
        # made by the load (an Idempotency-Key) but never acknowledged: the client gave up first
        "committed_not_acknowledged": Application.objects.exclude(idempotency_key=None)
        .filter(created_by__username__startswith="demo_r")
        .exclude(idempotency_key__in=[key for _user, key in acked])
        .count(),
        "lost": lost,
        "answered_two_numbers": conflicting,
        "duplicated": duplicated,
        "submit_events": len(keys),
        "announcements_pending": pending,
        "notifications_missing": sum(1 for k in keys if notified.get(k, 0) == 0),
        "notifications_duplicated": sum(1 for k in keys if notified.get(k, 0) > 1),
        "webhooks_undelivered": sum(1 for k in keys if received.get(k, 0) == 0),
        "webhooks_received_twice": sum(1 for k in keys if received.get(k, 0) > 1),
        "webhook_rows_missing": len(set(keys) - deliveries),
        "webhook_errors": dict(
            Counter(
                WebhookDelivery.objects.filter(delivered_at=None).values_list("last_error", flat=True)
            ).most_common(3)
        ),
        "audit_chain": f"intact ({chain.checked:,} events)"
        if chain.ok
        else f"broken at {chain.broken_seq}: {chain.reason}",
    }


if __name__ == "__main__":
    import django

    django.setup()
    if sys.argv[1] == "prepare":
        print(json.dumps(prepare(int(sys.argv[2]) if len(sys.argv) > 2 else 100)))
    else:
        print(json.dumps(verify(sys.argv[2], sys.argv[3])))
