"The wheel carries what molnb loads at run time: the shipped encoders (weights, config and model card) and the offline 3Dmol.js."
import subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_encoders_and_static_files(tmp_path):
    from molnb.models import SHIPPED, shipped_encoders
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', str(ROOT), '-w', str(tmp_path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob('molnb-*.whl'))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = shipped_encoders().name.tolist()
    assert shipped
    for n in shipped:
        assert {f'molnb/weights/{n}/{f}' for f in ('card.json', 'card.md', 'config.json', 'model.safetensors')} <= names, n
    assert any(n.startswith('molnb/static/') for n in names)
    weights_mb = sum(p.stat().st_size for p in SHIPPED.rglob('*') if p.is_file()) / 1e6
    assert weights_mb <= 20, f'the shipped encoders take {weights_mb:.1f} MB; the budget is 20 MB'
