import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent/'shared'/'data'/'moleculenet'


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    "Every test gets its own featurization cache and no progress bars."
    monkeypatch.setenv('MOLNB_CACHE', str(tmp_path/'cache'))
    monkeypatch.setenv('MOLNB_QUIET', '1')


@pytest.fixture
def moleculenet_dir():
    "The local MoleculeNet folder ($MOLNB_DATA, else ../shared/data/moleculenet); skip when absent."
    d = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    if not (d/'esol.csv').exists(): pytest.skip(f'MoleculeNet folder not found at {d}; set MOLNB_DATA')
    return d
