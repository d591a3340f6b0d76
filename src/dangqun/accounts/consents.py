"""The consent register (个人信息保护法 第十三条第一款第一项、第十四条、第十五条).

Where the platform shares or reuses a person's data on their behalf, the sharing action records
what (data), for what (purpose), to whom (recipient), on what basis and when — in its own
transaction, through `record_consent`, and only when the request carried the person's explicit
consent. The person lists their consents and withdraws one on the privacy page or through
/api/v1/me/consents. Withdrawal stops further use: the sharing app checks `active_data` before it
uses the data again; what was processed before stays valid (第十五条第二款), so a case already
handed in is not undone.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from dangqun.core.audit import audit
from dangqun.core.errors import NotFound, PermissionDenied

from .models import Consent, User

LEGAL_BASIS = (
    "个人信息保护法 第十三条第一款第一项、第十四条：取得个人的同意，"
    "在充分知情的前提下自愿、明确作出；可随时撤回（第十五条）"
)
LIST_LIMIT = 500  # shown per page and per API answer, the newest first


def _active(person: Any, source: tuple[str, int]) -> QuerySet[Consent]:
    return Consent.objects.filter(
        person=person, source_type=source[0], source_id=source[1], withdrawn_at__isnull=True
    )


def record_consent(
    person: User,
    *,
    data: str,
    data_name: str,
    purpose: str,
    recipient: Any,
    source: tuple[str, int],
    reference: str = "",
    actor: Any,
    new_source: bool = False,
) -> Consent:
    """Record `person`'s consent to use `data` for `source` (an object label and id, e.g.
    ("onestop.application", 12)), audited. Idempotent: while a consent for the same person, source
    and data is active, that one is returned and nothing new is written.

    Call it inside the sharing action's transaction, after the action checked that the request
    carried the person's explicit consent (第十四条: consent is never presumed). `new_source`: the
    source was created in this very transaction, so no consent can exist for it yet (the
    submission hot path skips the lookup and the savepoint).
    """
    fields = {
        "person": person,
        "purpose": purpose[:300],
        "data": data,
        "data_name": data_name[:100],
        "recipient": recipient,
        "recipient_name": (getattr(recipient, "name", "") or str(recipient or ""))[:200],
        "legal_basis": LEGAL_BASIS,
        "source_type": source[0],
        "source_id": source[1],
        "reference": reference[:64],
    }
    if not new_source:
        found = _active(person, source).filter(data=data).first()
        if found is not None:
            return found
    try:
        with transaction.atomic(savepoint=not new_source):
            consent = Consent.objects.create(**fields)
    except IntegrityError:
        # A concurrent request recorded the same consent first (the one_active_consent constraint).
        return _active(person, source).get(data=data)
    audit(
        actor,
        "accounts.consent.grant",
        consent,
        person=person.pk,
        data=data,
        purpose=consent.purpose,
        recipient=consent.recipient_name,
        source=f"{source[0]}:{source[1]}",
    )
    return consent


def active_data(person: Any, source: tuple[str, int]) -> set[str]:
    """The data keys `person` currently consents to for `source` (one query)."""
    return set(_active(person, source).values_list("data", flat=True))


def set_reference(source: tuple[str, int], reference: str) -> int:
    """Name the source in its consents once it has a number (a draft gets its number on submission)."""
    return Consent.objects.filter(source_type=source[0], source_id=source[1], reference="").update(
        reference=reference[:64]
    )


def my_consents(user: Any) -> QuerySet[Consent]:
    return Consent.objects.filter(person=user).order_by("-granted_at", "-id")


def access_consent(actor: Any, pk: Any) -> Consent:
    """One of `actor`'s own consents; 404 for anyone else's (a consent is never shown to others)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound() from None
    consent = Consent.objects.filter(pk=pk, person_id=getattr(actor, "pk", None)).first()
    if consent is None:
        raise NotFound()
    return consent


@transaction.atomic
def do_withdraw_consent(consent: Consent, *, actor: Any) -> Consent:
    """第十五条: the person withdraws a consent; further use needs a new one. Nothing processed
    before is undone. Withdrawing twice changes nothing (a retried request answers the same)."""
    if getattr(actor, "pk", None) != consent.person_id:
        raise PermissionDenied()
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        return consent
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    audit(
        actor,
        "accounts.consent.withdraw",
        consent,
        data=consent.data,
        source=f"{consent.source_type}:{consent.source_id}",
    )
    return consent


def withdraw_all(user: Any) -> int:
    """Every active consent of `user` ends (an erased account: processing stops, 第四十七条)."""
    return Consent.objects.filter(person=user, withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
