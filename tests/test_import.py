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


METHODS = ['fit', 'scoring', 'curriculum', 'pretrain', 'replay', 'hwsearch', 'explain']


def test_methods_never_import_the_dashboards():
    "Widgets observe methods, never the reverse (DESIGN.md): no method module loads ipywidgets, plotly or IPython."
    assert modules_after('import ' + ', '.join(f'molnb.{m}' for m in METHODS)) == ''


def test_dashboards_import_their_method():
    "Each method's dashboard module imports on its own, with its method and the widgets it needs."
    pairs = [('pretrain_dashboard', 'pretrain'), ('replay_dashboard', 'replay'), ('search_dashboard', 'hwsearch'), ('explain_panel', 'explain'), ('curriculum_dashboard', 'curriculum')]
    for d, m in pairs[:2]:  # one at a time: the module brings its own widgets
        assert 'ipywidgets' in modules_after(f'import molnb.{d}; assert "molnb.{m}" in sys.modules'), d
    assert 'ipywidgets' in modules_after('; '.join(f'import molnb.{d}; assert "molnb.{m}" in sys.modules' for d, m in pairs[2:]))
