"`import molnb` works in a plain process and stays light."
import subprocess, sys

HEAVY = ['plotly', 'ipywidgets', 'py3Dmol', 'IPython', 'jupyterlab', 'nbdev']


def modules_after(stmt):
    code = f"import sys; {stmt}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_import_molnb_is_light():
    assert modules_after('import molnb') == ''


def test_core_modules_do_not_pull_widgets_or_plotting():
    assert modules_after('import molnb.data, molnb.featurize, molnb.models, molnb.train, molnb.cli, molnb.viz') == ''


def test_version_present():
    r = subprocess.run([sys.executable, '-c', 'import molnb; print(molnb.__version__)'], capture_output=True, text=True)
    assert r.stdout.strip().count('.') == 2
