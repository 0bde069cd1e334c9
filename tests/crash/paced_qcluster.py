"""`manage.py qcluster` with each chunk task held for a moment before it works.

On an idle machine a 2,000-member run finishes between two polls of the test, so the seeded
kill could land after the job ended (a CI flake, seed 2 of the billing run). Holding each chunk
makes every job last seconds, so the kill always finds chunks claimed and unfinished. The hold
comes from CRASH_CHUNK_PAUSE ("module.task=seconds,..."); the workers are forked from this
process, so they inherit the patched tasks. Test code only: nothing in the product waits."""

from __future__ import annotations

import functools
import importlib
import os
import sys
import time


def _pace(spec: str) -> None:
    for item in filter(None, spec.split(",")):
        path, seconds = item.split("=")
        module_name, name = path.rsplit(".", 1)
        module = importlib.import_module(module_name)
        task = getattr(module, name)

        @functools.wraps(task)
        def paced(*args, _task=task, _seconds=float(seconds), **kwargs):
            time.sleep(_seconds)
            return _task(*args, **kwargs)

        setattr(module, name, paced)


def main() -> None:
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    _pace(os.environ.get("CRASH_CHUNK_PAUSE", ""))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", "qcluster"])


if __name__ == "__main__":
    main()
