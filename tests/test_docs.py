"molnb.devtools: the offline docs site, the README and the clean check."
import os, re, subprocess, sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from molnb.devtools import build_docs, check_clean, notebook_pages, render_readme

ROOT = Path(__file__).parent.parent
NBS = ROOT/'nbs'


def write_nb(path, *cells):
    nbformat.write(new_notebook(cells=list(cells)), path)
    return path


@pytest.fixture(scope='module')
def site(executed_site):
    "The repo's docs as shipped. One build serves every test here: a second, show_doc-only build cost CI six minutes (its `execute=False` path is tested on a small project below)."
    return executed_site


def test_index_links_every_notebook_page(site):
    index = (site/'index.html').read_text()
    pages = notebook_pages(NBS)
    assert len(pages) >= 2
    for p in pages:
        assert (site/p['page']).exists(), p['path']
        if p['page'] != 'index.html': assert f'href="{p["page"]}"' in index, p['page']


def test_data_page_has_api_reference(site):
    html = (site/'data.html').read_text()
    assert re.search(r'<h3[^>]*>load_csv', html), 'no show_doc heading for load_csv'
    assert 'Load and validate molecules from a CSV file' in html
    assert 'column holding SMILES' in html  # a docment of load_csv's parameters


def test_pages_hide_directives_and_hidden_cells_and_need_no_cdn(site):
    for page in site.glob('*.html'):
        html = page.read_text()
        assert not re.search(r'<span class="c1">#\s*\|', html), f'{page.name} shows a directive line in code'
        assert not re.search(r'<script[^>]+src="(https?:)?//', html), f'{page.name} loads a script from the network'
        assert not re.search(r'<link[^>]+href="https?:', html), f'{page.name} loads a stylesheet'
    # the data notebook's `#| hide` cell imports the test helpers; it must not show
    assert 'from fastcore.test import' not in (site/'data.html').read_text()


@pytest.fixture(scope='module')
def executed_site(tmp_path_factory):
    "The docs as `python -m molnb.devtools docs --workers 2` builds them: every notebook executed in a kernel, two at a time."
    return build_docs(NBS, tmp_path_factory.mktemp('docs-run')/'site', execute=True, quiet=True, workers=2)


def test_full_docs_build_executes_notebooks(executed_site):
    html = (executed_site/'data.html').read_text()
    assert 'Load and validate molecules from a CSV file' in html and 'jp-OutputArea-output' in html
    for page in executed_site.glob('*.html'):  # local scripts only, and they are there
        assert '_DashboardBox(' not in page.read_text(), f'{page.name} shows a dashboard as its repr text instead of a picture of it'
        for src in re.findall(r'<script[^>]+src="([^"]+)"', page.read_text()):
            assert not re.match(r'(https?:)?//', src) and (executed_site/src).is_file(), f'{page.name} loads {src}'


def test_every_notebook_runs_in_the_docs_build(executed_site):
    "The README's test command runs no `nbdev_test`: this build is where every notebook's tests run (hidden cells included, `nbdev_test`'s skip rules), so it must take every notebook `nbdev_test` would, and each page must show its outputs (a failing cell stops the build, naming the notebook and cell)."
    from nbdev.doclinks import nbglob
    pages = notebook_pages(NBS)
    assert {Path(f).resolve() for f in nbglob(NBS)} <= {p['path'].resolve() for p in pages}
    assert sum(p['path'].parent.name == 'tutorials' for p in pages) >= 5
    for p in pages:
        html = (executed_site/p['page']).read_text()
        assert 'jp-OutputArea-output' in html and 'Traceback' not in html, p['page']


def _api_names(module) -> list:
    "What a module's page must document: its exported functions and classes, and the public methods of its exported classes that are defined with @patch."
    import importlib, inspect
    mod = importlib.import_module(f'molnb.{module}')
    names = [n for n in mod.__all__ if inspect.isfunction(getattr(mod, n)) or inspect.isclass(getattr(mod, n))]  # constants get no entry
    for n in mod.__all__:
        obj = getattr(mod, n)
        if not inspect.isclass(obj) or obj.__module__ != mod.__name__: continue
        body = inspect.getsource(obj)
        for m, f in vars(obj).items():
            f = getattr(f, 'fget', f)
            if m.startswith('_') or not callable(f) or getattr(f, '__module__', None) != mod.__name__: continue
            if f'def {m}(' not in body: names.append(f'{n}.{m}')  # not in the class body: patched in a later cell
    return names


def test_site_in_chromium(executed_site):
    "Every page opens offline from the files; figures, molecule drawings and 3-D views render; links resolve; the API is all there."
    import importlib.util
    from test_browser import CHROMIUM, CHROMIUM_ARGS, need  # the dashboards' browser: the same Chromium, flags and skip/fail rule
    need(Path(CHROMIUM).exists(), f'Chromium not found at {CHROMIUM}: apt-get install chromium, or set MOLNB_CHROMIUM')
    need(importlib.util.find_spec('playwright') is not None, 'playwright is not installed (pip install -e ".[dev]")')
    from playwright.sync_api import sync_playwright
    seen = {}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = b.new_page()
        remote, errors = [], []
        page.route('**/*', lambda route: (remote.append(route.request.url), route.abort()) if not route.request.url.startswith(('file:', 'data:', 'blob:')) else route.continue_())
        page.on('pageerror', lambda e: errors.append(str(e)))
        for f in sorted(executed_site.glob('*.html')):
            remote.clear(); errors.clear()
            page.goto(f.as_uri(), wait_until='load', timeout=120_000)
            page.wait_for_timeout(1500)  # 3Dmol and plotly draw after load
            seen[f.name] = page.evaluate("""() => ({
                plots: document.querySelectorAll('.plotly-graph-div').length,
                drawn: [...document.querySelectorAll('.plotly-graph-div')].filter(d => d.querySelector('.main-svg')).length,
                images: document.images.length,
                broken: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 60)),
                views: document.querySelectorAll('[id^="3dmolviewer"]').length,
                dashboards: document.querySelectorAll('.molnb-dashboard-static').length,
                canvases: [...document.querySelectorAll('[id^="3dmolviewer"] canvas')].filter(c => c.width > 0 && c.height > 0).length,
                links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
                ids: [...document.querySelectorAll('[id]')].map(e => e.id)})""")
            s = seen[f.name]
            assert not remote, f'{f.name} asked the network for {remote[:3]}'
            assert not errors, f'{f.name}: {errors[:3]}'
            assert s['drawn'] == s['plots'], f"{f.name}: {s['plots'] - s['drawn']} of {s['plots']} plotly figures did not draw"
            assert not s['broken'], f"{f.name}: images that did not load: {s['broken'][:3]}"
            assert s['canvases'] >= s['views'], f"{f.name}: {s['views']} 3-D views, {s['canvases']} drawn"
        b.close()
    assert seen['viz.html']['plots'] >= 3 and seen['viz.html']['views'] >= 1 and seen['tour.html']['views'] >= 1
    assert seen['viz.html']['images'] >= 1  # molecule grids
    for page in ('widgets.html', 'curriculum_dashboard.html', 'pretrain_dashboard.html', 'replay_dashboard.html', 'search_dashboard.html'):
        assert seen[page]['dashboards'] >= 1, f'{page} shows no picture of its dashboard'  # drawn, figures and all (checked above)
    for name, s in seen.items():  # internal links: the page exists, and so does the anchor
        for href in s['links']:
            if re.match(r'(https?:|mailto:)', href): continue
            target, _, frag = href.partition('#')
            doc = name if not target else target
            assert doc in seen, f'{name} links to {href}, which is not in the site'
            assert not frag or frag in seen[doc]['ids'], f'{name} links to {href}, which has no #{frag}'
    for module in ('core', 'data', 'featurize', 'models', 'train', 'viz', 'scoring', 'curriculum', 'widgets', 'cli', 'uncertainty'):
        missing = [n for n in _api_names(module) if n not in seen[f'{module}.html']['ids']]
        assert not missing, f'{module}.html documents no {missing}'
    assert 'Trainer.fit' in seen['train.html']['ids']



def test_docs_of_a_small_project(tmp_path):
    nbs = tmp_path/'nbs'; nbs.mkdir()
    write_nb(nbs/'00_greet.ipynb', new_markdown_cell('# greet\n\n> Say hello.'), new_code_cell('#| default_exp greet'),
             new_code_cell('#| hide\nsecret = 42'),
             new_code_cell('#| export\ndef greet(name:str, # who to greet\n         ) -> str:\n    "A friendly greeting."\n    return f"hello {name}"'),
             new_code_cell('greet("world")'), new_markdown_cell('See [the other page](01_more.ipynb).'))
    write_nb(nbs/'01_more.ipynb', new_markdown_cell('# more'), new_code_cell('print(6*7)'))
    site = build_docs(nbs, tmp_path/'site', execute=True, quiet=True)
    names = sorted(p.name for p in site.iterdir())
    assert names == ['greet.html', 'index.html', 'more.html']  # no index.ipynb: a contents page is made
    html = (site/'greet.html').read_text()
    assert 'A friendly greeting.' in html and 'who to greet' in html and 'hello world' in html
    assert 'secret' not in html and 'default_exp' not in html
    assert 'href="more.html"' in html
    assert '42' in (site/'more.html').read_text()
    index = (site/'index.html').read_text()
    assert 'href="greet.html"' in index and 'href="more.html"' in index


def test_failing_notebook_names_notebook_and_cell(tmp_path):
    nbs = tmp_path/'nbs'; nbs.mkdir()
    write_nb(nbs/'01_broken.ipynb', new_markdown_cell('# broken'), new_code_cell('x = 1'), new_code_cell('1/0'))
    with pytest.raises(RuntimeError, match=r'01_broken\.ipynb failed at cell 3') as e:
        build_docs(nbs, tmp_path/'site', quiet=True)
    assert 'ZeroDivisionError' in str(e.value) and '1/0' in str(e.value)


@pytest.fixture
def index_nbs(tmp_path):
    nbs = tmp_path/'nbs'; nbs.mkdir()
    write_nb(nbs/'index.ipynb', new_markdown_cell('# toy\n\n> A toy project.'),
             new_code_cell('#| hide\nfrom toy.core import *'),
             new_code_cell('#| eval: false\nimport toy   \ntoy.run()'),
             new_markdown_cell('## Use it\n\n\n\nText.'))
    return nbs


def test_render_readme(index_nbs, tmp_path):
    out = render_readme(index_nbs, tmp_path/'README.md')
    text = out.read_text()
    assert text.startswith('# toy\n\n> A toy project.\n')
    assert '#|' not in text and 'toy.core' not in text
    assert '```python\nimport toy\ntoy.run()\n```' in text
    assert '\n\n\n' not in text and text.endswith('Text.\n')
    again = render_readme(index_nbs, tmp_path/'README2.md')
    assert again.read_bytes() == out.read_bytes()


def test_render_readme_without_index(tmp_path):
    with pytest.raises(FileNotFoundError, match='index.ipynb'): render_readme(tmp_path, tmp_path/'README.md')


def test_cli_readme(index_nbs, tmp_path):
    r = subprocess.run([sys.executable, '-m', 'molnb.devtools', 'readme', '--nbs', str(index_nbs), '--out', str(tmp_path/'R.md')],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'R.md').read_text().startswith('# toy')


SETTINGS = '''[DEFAULT]
repo = toy
lib_name = toy
version = 0.0.1
min_python = 3.10
license = apache2
doc_path = _docs
lib_path = toy
nbs_path = nbs
recursive = True
tst_flags = notest
put_version_in_init = True
update_pyproject = False
branch = main
custom_sidebar = False
doc_host = https://toy.github.io
doc_baseurl = /toy
git_url = https://github.com/toy/toy
title = toy
audience = Developers
author = toy
author_email = toy@example.org
copyright = 2026 onwards, toy
description = A toy
keywords = toy
language = English
status = 3
user = toy
'''


def git(*args, cwd):
    return subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@example.org', *args], cwd=cwd, check=True,
                          capture_output=True, text=True)


def test_check_clean_on_a_small_project(tmp_path):
    (tmp_path/'settings.ini').write_text(SETTINGS)
    (tmp_path/'nbs').mkdir()
    nb = tmp_path/'nbs'/'00_core.ipynb'
    write_nb(nb, new_code_cell('#| default_exp core'), new_code_cell('#| export\ndef one(): return 1'))
    git('init', '-q', cwd=tmp_path)
    check_clean(tmp_path)  # first run exports the module and cleans the notebook
    git('add', '-A', cwd=tmp_path); git('commit', '-qm', 'init', cwd=tmp_path)
    assert check_clean(tmp_path) == []
    write_nb(nb, new_code_cell('#| default_exp core'), new_code_cell('#| export\ndef one(): return 1\ndef two(): return 2'))
    changed = check_clean(tmp_path)
    assert 'toy/core.py' in changed and 'nbs/00_core.ipynb' in changed
    r = subprocess.run([sys.executable, '-m', 'molnb.devtools', 'check', '--path', str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1 and 'toy/core.py' in r.stdout



def test_committed_notebooks_carry_no_outputs():
    "Outputs never land in the package source: the notebooks in nbs/ are stored cleaned (settings.ini's clear_all, applied on save by nbdev_install_hooks)."
    with_outputs = [p.name for p in sorted(NBS.glob('*.ipynb')) if any(c.get('outputs') for c in nbformat.read(p, as_version=4).cells)]
    assert not with_outputs, f"notebooks saved with outputs: {with_outputs}; run nbdev_clean (and nbdev_install_hooks once)"
    assert re.search(r'^clear_all\s*=\s*True', (ROOT/'settings.ini').read_text(), re.M)


def test_readme_python_blocks_run_as_pasted(tmp_path, monkeypatch):
    "Every ```python block of the README, pasted in order into one fresh interpreter, runs: no test helpers a reader does not have."
    blocks = re.findall(r'```python\n(.*?)```', (ROOT/'README.md').read_text(), re.S)
    assert blocks and not [b for b in blocks if 'test_eq' in b or 'test_fail' in b]
    monkeypatch.chdir(tmp_path)
    script = tmp_path/'readme.py'; script.write_text('\n'.join(blocks))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]


_TEST_LINE = re.compile(r'^\s*(test_\w+\(|assert\b|for .*:\s*(assert\b|test_\w+\())|;\s*(test_\w+\(|assert\b)')

def visible_test_share(path:Path) -> float:
    "The share of a notebook's visible demo code lines (not hidden, not exported library code, not comments) that are tests."
    demo = tests = 0
    for c in nbformat.read(path, as_version=4).cells:
        if c.cell_type != 'code' or re.search(r'^#\|\s*(hide|export|exports|exporti|default_exp)\b', c.source, re.M): continue
        lines = [l for l in c.source.splitlines() if l.strip() and not l.strip().startswith('#')]
        demo += len(lines); tests += sum(bool(_TEST_LINE.search(l)) for l in lines)
    return tests / max(demo, 1)


@pytest.mark.parametrize('path', sorted((NBS/'tutorials').glob('*.ipynb')) + [NBS/f for f in ('11_explain.ipynb', '12_pretrain.ipynb', '13_replay.ipynb', '13b_replay_molecules.ipynb', '14_hwsearch.ipynb', '14b_chip_encoders.ipynb')], ids=lambda p: p.stem)
def test_lessons_show_their_results_not_their_tests(path):
    "Tutorials keep at most 10 % of their visible code lines for tests, the method notebooks at most 25 %: the rest run in hidden cells, so each demo cell ends in its figure or table."
    assert visible_test_share(path) <= (0.10 if path.parent.name == 'tutorials' else 0.25), f'{visible_test_share(path):.0%} of the visible code lines are tests'


def test_visible_test_share_counts_test_lines(tmp_path):
    nb = new_notebook(cells=[new_code_cell('x = 1\ntest_eq(x, 1)'), new_code_cell('#| hide\nassert x'), new_code_cell('#| export\ndef f(): pass'),
                             new_code_cell('y = 2; assert y\n# a comment\ny')])
    p = tmp_path/'share.ipynb'
    nbformat.write(nb, p)
    assert visible_test_share(p) == 2 / 4
