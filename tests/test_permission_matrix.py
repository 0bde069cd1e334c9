"""Runs the permission matrix over every registered endpoint and screen."""

import pytest

from tests import permissions


@pytest.mark.parametrize("endpoint", permissions.load_registries(), ids=lambda e: e.name)
def test_permission_matrix(endpoint, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads, rosters and packages stay out of the project
    permissions.assert_matrix(endpoint, world)
