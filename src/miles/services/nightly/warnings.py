"""Relaying expiry warnings from their outbox table to the notifier.

The nightly run makes at most one warning per member and expiry date (a unique key). The relay locks a
batch of unsent warnings (SKIP LOCKED: two relays never take the same one), hands each to the notifier
and marks it sent in the same transaction. A notifier failure is recorded on its warning and retried by
the next relay, up to MAX_ATTEMPTS times.
"""

from __future__ import annotations

import logging

from miles.adapters.db.expiry_warnings import ExpiryWarningRepository
from miles.adapters.db.unit_of_work import UnitOfWorkFactory
from miles.adapters.notifier import Notifier
from miles.services.nightly.runs import WARNINGS_JOB
from miles.services.runtime import Runtime, job

log = logging.getLogger("miles.nightly")
MAX_ATTEMPTS = 10


def relay_warnings(uow_factory: UnitOfWorkFactory, notifier: Notifier, batch: int = 100) -> int:
    """Send every unsent warning once; the number sent."""
    sent_total, after = 0, 0
    while True:
        with uow_factory() as uow:
            warnings = ExpiryWarningRepository(uow.connection)
            notices = warnings.claim(batch, after, MAX_ATTEMPTS)
            sent = []
            for notice in notices:
                try:
                    notifier.expiry_warning(notice)
                # the mail server refused or did not answer (smtplib's errors are OSErrors): one member's
                # failure never blocks the others
                except OSError as exc:
                    log.warning("expiry warning %d not delivered: %s", notice.warning_id, exc)
                    warnings.mark_failed(notice.warning_id, f"{type(exc).__name__}: {exc}")
                else:
                    sent.append(notice.warning_id)
            warnings.mark_sent(sent)
        sent_total += len(sent)
        if len(notices) < batch:
            return sent_total
        after = notices[-1].warning_id


@job(WARNINGS_JOB)
def relay_warnings_job(runtime: Runtime) -> int:
    return relay_warnings(runtime.uow, runtime.notifier)
