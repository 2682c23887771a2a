"""Celery workers and beat: thin shims over the jobs that miles.services registers."""
