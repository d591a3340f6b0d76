import pytest
from django.core.management import call_command

from dangqun.core import audit
from dangqun.core.models import AuditEvent


@pytest.fixture
def chain(tree, street_admin):
    from dangqun.orgs.actions import do_update_organization

    for i in range(5):
        do_update_organization(tree.branch_a, actor=street_admin, phone=f"0571-8888{i:04d}")
    audit.seal()
    return AuditEvent.objects.order_by("seq")


def test_it_seals_events_in_a_verifiable_chain(chain):
    assert chain.filter(seq__isnull=True).count() == 0
    result = audit.verify()
    assert result.ok
    assert result.checked == chain.count()
    first, second = chain[0], chain[1]
    assert second.prev_digest == first.digest


def test_it_names_the_first_event_whose_content_was_edited(chain):
    victim = chain[3]
    AuditEvent.objects.filter(pk=victim.pk).update(payload={"forged": True})
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == victim.seq
    assert "被修改" in result.reason


def test_it_detects_a_deleted_event(chain):
    victim = chain[2]
    AuditEvent.objects.filter(pk=victim.pk).delete()
    result = audit.verify()
    assert not result.ok
    assert result.broken_seq == victim.seq


def test_it_detects_a_truncated_tail(chain):
    AuditEvent.objects.filter(pk=chain.last().pk).delete()
    result = audit.verify()
    assert not result.ok
    assert "截断" in result.reason


def test_the_command_fails_and_names_the_event_after_tampering(chain, capsys):
    call_command("audit", "verify")
    assert "通过" in capsys.readouterr().out
    victim = chain[1]
    AuditEvent.objects.filter(pk=victim.pk).update(action="org.forged")
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")
    assert exit_info.value.code == 1
    assert f"#{victim.seq}" in capsys.readouterr().err


def test_sealing_is_queued_at_most_once_a_second(monkeypatch):
    """Every audited change asks for a seal after commit; under load one job a second is enough."""
    from django.core.cache import cache
    from huey.contrib.djhuey import HUEY

    from dangqun.core import audit as audit_module
    from dangqun.core import tasks

    queued = []
    monkeypatch.setattr(tasks, "seal_audit_chain", lambda: queued.append(1))
    monkeypatch.setattr(HUEY, "immediate", False)
    monkeypatch.setattr(audit_module, "_last_queued", 0.0)
    cache.delete("dangqun:audit:seal-queued")
    for _ in range(5):
        audit_module._schedule_seal()
    assert len(queued) == 1
    # another process (its own stopwatch) within the same second: the shared cache coalesces it
    monkeypatch.setattr(audit_module, "_last_queued", 0.0)
    audit_module._schedule_seal()
    assert len(queued) == 1
    # a second later both let the next one through
    monkeypatch.setattr(audit_module, "_last_queued", 0.0)
    cache.delete("dangqun:audit:seal-queued")
    audit_module._schedule_seal()
    assert len(queued) == 2
