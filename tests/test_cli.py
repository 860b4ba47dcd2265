"The molnb console script: help, quickstart, errors."
import subprocess, sys, json
import pytest


def run(*args, cwd=None):
    return subprocess.run(['molnb', *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_subcommands():
    r = run('--help')
    assert r.returncode == 0 and 'quickstart' in r.stdout


def test_subcommand_help():
    r = run('quickstart', '--help')
    assert r.returncode == 0 and '--out' in r.stdout and 'FreeSolv' in r.stdout


def test_version():
    import molnb
    assert run('--version').stdout.strip() == f'molnb {molnb.__version__}'


def test_unknown_subcommand_is_a_clear_error():
    r = run('fly')
    assert r.returncode == 2 and "invalid choice: 'fly'" in r.stderr


def test_bad_option_value():
    r = run('quickstart', '--seed', 'abc')
    assert r.returncode == 2 and 'invalid int value' in r.stderr


def test_quickstart_writes_report(tmp_path):
    r = run('quickstart', '--out', str(tmp_path/'qs'), '--quiet')
    assert r.returncode == 0, r.stderr
    out = tmp_path/'qs'
    assert {p.name for p in out.iterdir()} == {'report.html', 'split.json', 'rejected.csv'}
    html = (out/'report.html').read_text()
    assert 'molnb quickstart: FreeSolv' in html and 'Plotly' in html and '<svg' in html
    assert 'freesolv: 642 molecules' in r.stdout
    split = json.loads((out/'split.json').read_text())
    assert len(split['train']) + len(split['valid']) + len(split['test']) == 642


def test_quickstart_output_path_error(tmp_path):
    blocker = tmp_path/'file'; blocker.write_text('x')
    r = run('quickstart', '--out', str(blocker/'sub'), '--quiet')
    assert r.returncode != 0 and 'Traceback' not in r.stderr
