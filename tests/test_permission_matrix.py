"""Runs the permission matrix over every registered endpoint and screen."""

import pytest

from tests import permissions
from tests.billing import close_endpoints as _billing_close  # noqa: F401
from tests.billing import compare_endpoints as _billing_compare  # noqa: F401
from tests.billing import endpoints as _billing_endpoints  # noqa: F401
from tests.billing import screens_endpoints as _billing_screens  # noqa: F401
from tests.billing import workbench_endpoints as _billing_workbench  # noqa: F401
from tests.core import endpoints as _core_endpoints  # noqa: F401  (registers)
from tests.core import endpoints_events as _core_events  # noqa: F401  (registers)
from tests.core import endpoints_notifications as _core_notifications  # noqa: F401
from tests.core import endpoints_webhook_screens as _core_webhook_screens  # noqa: F401
from tests.denials import claims_endpoints as _denials_claims  # noqa: F401
from tests.denials import cob_endpoints as _denials_cob  # noqa: F401
from tests.denials import corr_endpoints as _denials_corr  # noqa: F401
from tests.denials import dual_endpoints as _denials_dual  # noqa: F401
from tests.denials import endpoints_x837 as _denials_x837  # noqa: F401
from tests.denials import flow_endpoints as _denials_flow  # noqa: F401
from tests.denials import jobs_endpoints as _denials_jobs  # noqa: F401
from tests.denials import rec_screens_endpoints as _denials_rec_screens  # noqa: F401
from tests.denials import receivables_endpoints as _denials_receivables  # noqa: F401
from tests.denials import screens_endpoints as _denials_screens  # noqa: F401
from tests.ingestion import endpoints as _ingestion_endpoints  # noqa: F401
from tests.invoicing import endpoints as _invoicing_endpoints  # noqa: F401
from tests.invoicing import screens_endpoints as _invoicing_screens  # noqa: F401
from tests.wallets import api_endpoints as _wallets_api  # noqa: F401
from tests.wallets import screens_endpoints as _wallets_screens  # noqa: F401
from tests.wallets import watch_endpoints as _wallets_watch  # noqa: F401


@pytest.mark.parametrize("endpoint", permissions.ENDPOINTS, ids=lambda e: e.name)
def test_permission_matrix(endpoint, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads, rosters and packages stay out of the project
    permissions.assert_matrix(endpoint, world)
