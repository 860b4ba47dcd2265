"Smoke tests for the benchmark scripts: each `--quick` mode runs and writes its results in the agreed schema (speed targets are not asserted)."
import json, os, subprocess, sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO/'benchmarks'/'results'
DATA = Path(os.environ.get('MOLNB_DATA') or REPO.parent/'shared'/'data'/'moleculenet')  # same default as the benchmark scripts
QUICK_LIMIT_S = 600  # quick mode takes well under a minute on 2 cores; generous for a loaded machine


def run_quick(name:str) -> dict:
    "Run `benchmarks/NAME.py --quick` from the repo root and return its quick JSON (a full run's files must be left alone)."
    full = [RESULTS/f'{name}.{ext}' for ext in ('md', 'json')]
    before = {p: p.read_bytes() for p in full if p.exists()}
    out = RESULTS/f'{name}.quick.json'
    out.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, f'benchmarks/{name}.py', '--quick'], cwd=REPO, capture_output=True, text=True, timeout=QUICK_LIMIT_S)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert out.exists() and (RESULTS/f'{name}.quick.md').exists(), f"{name}.quick.json/.md not written"
    assert {p: p.read_bytes() for p in full if p.exists()} == before, "a quick run changed the full run's results"
    return json.loads(out.read_text())


def check_schema(res:dict):
    assert {'command', 'mode', 'machine', 'rows', 'targets'} <= res.keys()
    assert res['mode'] == 'quick' and '--quick' in res['command']
    assert res['machine'].get('cores') and res['rows']
    assert res['targets'] and all({'name', 'value', 'target', 'met'} <= t.keys() and isinstance(t['met'], bool) for t in res['targets'])


def test_featurize_quick():
    if not (DATA/'lipo.csv').is_file(): pytest.skip(f"MoleculeNet CSVs not found in {DATA}; set MOLNB_DATA to run the benchmark smoke test")
    res = run_quick('featurize')
    check_schema(res)
    assert [r['n'] for r in res['rows']] == [1000, 4200]
    assert all(r['serial_mol_s'] > 0 and r['mem_serial_mb'] >= 0 for r in res['rows'])
