"""Every registered system honours the model contract (DESIGN.md)."""

import pytest

import fdl_keras
from fdl_keras.testing import check_model_contract


@pytest.mark.parametrize("name", [s.name for s in fdl_keras.list_models()])
def test_model_contract(name, tmp_path):
    check_model_contract(fdl_keras.get_spec(name), tmp_path)
