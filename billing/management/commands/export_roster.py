"""manage.py export_roster --run ID [-o FILE]: the billable roster CSV with its footer."""

from billing.management.commands._export import ExportCommand


class Command(ExportCommand):
    help = "Write a run's billable roster (CSV, with totals and unresolved exceptions)."
    kind = "roster"
