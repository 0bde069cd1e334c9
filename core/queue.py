"""Queueing background work: one place that talks to django-q2."""

from __future__ import annotations


def enqueue(func: str, *args, group: str | None = None) -> None:
    """Queue the task `func` (a dotted path) with its arguments for the workers."""
    from django_q.tasks import async_task

    if group:
        async_task(func, *args, group=group)
    else:
        async_task(func, *args)
