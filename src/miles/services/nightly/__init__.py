"""The nightly run: tier requalification, mileage expiry and expiry warnings, once per programme and date.

- runs: start (or join) the run of a date, cut it into member-id chunks, queue them; the reconciler.
- chunks: one chunk's work, set-based, committed with the chunk's 'done' state.
- warnings: the relay from the expiry warnings outbox to the notifier.
- report: the run report (CLI, API).

Importing this package registers its background jobs (miles.services.runtime.load_jobs does).
"""

from miles.services.nightly import chunks, runs, warnings

__all__ = ["chunks", "runs", "warnings"]
