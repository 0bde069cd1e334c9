"""manage.py export_decisions --run ID [-o FILE]: every decision of a run as CSV."""

from billing.management.commands._export import ExportCommand


class Command(ExportCommand):
    help = "Write all of a run's decisions (CSV)."
    kind = "decisions"
