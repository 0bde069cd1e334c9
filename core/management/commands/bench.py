"""manage.py bench NAME [options]: run one registered benchmark, print one JSON line of figures.

Run against a scratch database (benchmarks leave their data behind; the audit table is
append-only on PostgreSQL), e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/healthbill_bench.
"""

import json

from django.core.management.base import BaseCommand

from core.bench import BENCHES


class Command(BaseCommand):
    help = "Run a benchmark (see `bench --help` for the list) and print its figures as JSON."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="bench", required=True, metavar="NAME")
        for bench in sorted(BENCHES.values(), key=lambda b: b.name):
            # argparse %-formats help texts: a literal % (e.g. "retry 1%") must be doubled
            sub_parser = sub.add_parser(bench.name, help=bench.help.replace("%", "%%"))
            bench.add_arguments(sub_parser)

    def handle(self, *args, bench, **opts):
        figures = BENCHES[bench].run(**opts)
        self.stdout.write(json.dumps(figures))
