from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import audit


@db_task()
def seal_audit_chain() -> int:
    # Several sealers may run at once: the head row lock (select_for_update) orders them.
    return audit.seal()


@db_periodic_task(crontab(minute="*"))
def seal_audit_chain_periodically() -> int:
    # Catches events whose after-commit seal was lost (a killed worker): the chain catches up.
    return audit.seal()
