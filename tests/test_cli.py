"The molnb console script: help, quickstart, errors."
import subprocess, sys, json
import pandas as pd
import pytest


def run(*args, cwd=None):
    return subprocess.run(['molnb', *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_subcommands():
    r = run('--help')
    assert r.returncode == 0 and 'quickstart' in r.stdout


def test_subcommand_help():
    r = run('quickstart', '--help')
    assert r.returncode == 0 and '--out' in r.stdout and 'FreeSolv' in r.stdout and 'teacher models' in r.stdout


def test_version():
    import molnb
    assert run('--version').stdout.strip() == f'molnb {molnb.__version__}'


def test_help_and_version_import_no_torch():
    "Building the parser and its help (top level, quickstart, predict) imports none of the heavy libraries: `molnb --help` answers at once."
    code = ("import sys; from molnb.cli import build_parser; p = build_parser(); p.format_help(); "
            "[a.choices[c].format_help() for a in p._subparsers._group_actions for c in ('quickstart', 'predict')]; "
            "print(sorted({'torch', 'torch_geometric', 'pandas', 'rdkit', 'numpy'} & set(sys.modules)))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == '[]', r.stdout + r.stderr


def test_recipe_choices_are_still_checked_and_listed():
    r = run('train', '--data', 'x.csv', '--curriculum', 'bogus')
    assert r.returncode == 2 and "invalid choice: 'bogus' (choose from 'default', 'auto', 'size'" in r.stderr
    r = run('score', '--help')
    assert r.returncode == 0 and 'combined' in r.stdout and 'drop_conflicting' in r.stdout


def test_unknown_subcommand_is_a_clear_error():
    r = run('fly')
    assert r.returncode == 2 and "invalid choice: 'fly'" in r.stderr


def test_bad_option_value():
    r = run('quickstart', '--seed', 'abc')
    assert r.returncode == 2 and 'invalid int value' in r.stderr


def test_quickstart_writes_report(tmp_path):
    r = run('quickstart', '--out', str(tmp_path/'qs'), '--quiet', '--epochs', '3')
    assert r.returncode == 0, r.stderr
    out = tmp_path/'qs'
    assert {p.name for p in out.iterdir()} == {'report.html', 'split.json', 'rejected.csv', 'model', 'scores.csv'}
    html = (out/'report.html').read_text()
    assert 'molnb quickstart: FreeSolv' in html and 'Plotly' in html and '<svg' in html
    assert 'freesolv: 642 molecules' in r.stdout
    stages = [l for l in r.stdout.splitlines() if l.startswith('[')]  # every stage says what it does, even with --quiet (which hides the bars)
    assert [l[:5] for l in stages] == [f'[{k}/5]' for k in range(1, 6)] and 'teacher models' in stages[2]
    assert ' r2 ' in r.stdout and 'kcal/mol' in r.stdout and not [l for l in r.stdout.splitlines() if 'r2' in l and l.rstrip().endswith('kcal/mol)')]
    assert all(l.split('r2 ')[1].split(',')[0].replace('.', '').replace('-', '').isdigit() for l in r.stdout.splitlines() if ' r2 ' in l)
    assert '<td>plain</td>' in html and '<td>curriculum (easy to hard)</td>' in html  # the comparison table labels its rows
    split = json.loads((out/'split.json').read_text())
    assert len(split['train']) + len(split['valid']) + len(split['test']) == 642


def test_quickstart_output_path_error(tmp_path):
    blocker = tmp_path/'file'; blocker.write_text('x')
    r = run('quickstart', '--out', str(blocker/'sub'), '--quiet')
    assert r.returncode != 0 and 'Traceback' not in r.stderr


def test_train_and_predict_end_to_end(tmp_path):
    csv = tmp_path/'d.csv'
    rows = ['smiles,y'] + [f'{"C" * (i % 10 + 1)}{"O N Cl Br".split()[i // 10]},{i % 7 * 0.5}' for i in range(40)] + ['C1CC,1.0', 'CCN,abc']  # 40 distinct molecules
    csv.write_text('\n'.join(rows) + '\n')
    r = run('train', '--data', str(csv), '--epochs', '2', '--hidden', '16', '--layers', '1', '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0, r.stderr
    assert '2 rejected' in r.stdout and 'unparseable SMILES' in r.stdout and 'test rmse' in r.stdout
    out = tmp_path/'run'
    assert {p.name for p in out.iterdir()} >= {'model', 'metrics.json', 'history.csv', 'split.json', 'rejected.csv', 'plot.html'}
    page = (out/'plot.html').read_text()
    assert 'Metrics (weights of the best validation epoch)' in page and '<td>validation</td>' in page and '<td>test</td>' in page
    r = run('predict', '--model', str(out/'model'), '--input', str(csv), '--out', str(tmp_path/'p.csv'))
    assert r.returncode == 0, r.stderr
    import pandas as pd
    p = pd.read_csv(tmp_path/'p.csv', keep_default_na=False)
    assert len(p) == 42 and p.error.iloc[40] == 'unparseable SMILES (syntax error)'
    assert list(p.columns) == ['row', 'smiles', 'input_y', 'canonical_smiles', 'y', 'nearest_train_similarity', 'embedding_distance', 'unseen', 'in_domain', 'error']  # the input's own y is carried, renamed beside the prediction; the applicability domain after it
    mine = tmp_path/'mine.csv'  # predictions join back to the user's table: SMILES as given, ids carried, rejected rows included
    mine.write_text('name,SMILES,batch\nethanol,OCC,7\nbroken,C1CC,7\nphenol,Oc1ccccc1,8\n')
    r = run('predict', '--model', str(out/'model'), '--input', str(mine), '--out', str(tmp_path/'m.csv'))
    assert r.returncode == 0, r.stderr
    m = pd.read_csv(tmp_path/'m.csv', keep_default_na=False)
    assert list(m.columns) == ['row', 'smiles', 'name', 'batch', 'canonical_smiles', 'y', 'nearest_train_similarity', 'embedding_distance', 'unseen', 'in_domain', 'error']
    assert m.smiles.tolist() == ['OCC', 'C1CC', 'Oc1ccccc1'] and m.name.tolist() == ['ethanol', 'broken', 'phenol']
    assert m.canonical_smiles.tolist() == ['CCO', '', 'Oc1ccccc1'] and m.error.tolist()[1] == 'unparseable SMILES (syntax error)'
    r = run('predict', '--model', str(out/'model'), '--input', str(mine), '--out', str(tmp_path/'n.csv'), '--columns', 'name')
    assert r.returncode == 0 and list(pd.read_csv(tmp_path/'n.csv').columns) == ['row', 'smiles', 'name', 'canonical_smiles', 'y', 'nearest_train_similarity', 'embedding_distance', 'unseen', 'in_domain', 'error']
    r = run('predict', '--model', str(out/'model'), '--input', str(mine), '--out', str(tmp_path/'r.csv'), '--report', str(tmp_path/'r.html'), '--explain', '1')
    assert r.returncode == 0 and 'report ->' in r.stdout, r.stderr
    page = (tmp_path/'r.html').read_text()  # the predictions, and the first valid molecule (ethanol) explained
    assert page.count('class="molnb-explanation"') == 1 and 'row 0: OCC' in page and 'phenol' in page and 'unparseable SMILES' in page


@pytest.mark.parametrize('args, message', [
    (['train', '--data', 'no-such.csv'], 'no such file'),
    (['train', '--data', 'freesolv', '--epochs', '0'], 'must be positive'),
    (['train', '--data', 'freesolv', '--model', 'mlp'], "invalid choice: 'mlp'"),
    (['train', '--data', 'freesolv', '--lr', 'fast'], "invalid float value: 'fast'"),
    (['train'], 'the following arguments are required: --data'),
    (['predict', '--model', '.', '--input', 'x.csv'], 'is not a saved molnb model'),
    (['train', '--data', 'freesolv', '--curriculum', '--tune', '0'], 'must be positive'),
    (['train', '--data', 'freesolv', '--curriculum', 'auto'], 'give --tune N'),
    (['train', '--data', 'freesolv', '--tune', '4'], 'only apply with --curriculum'),
])
def test_train_predict_argument_errors(args, message):
    r = run(*args)
    assert r.returncode == 2 and message in r.stderr and 'Traceback' not in r.stderr


def test_train_on_unlabelled_file_is_a_clear_error(tmp_path):
    f = tmp_path/'u.smi'; f.write_text('CCO\nCCN\n')
    r = run('train', '--data', str(f), '--quiet')
    assert r.returncode == 2 and 'no label columns' in r.stderr


def test_train_with_tuned_curriculum(tmp_path):
    "--curriculum --tune N: the schedule is searched on validation (search.csv), and the winner trains the model."
    r = run('train', '--data', 'freesolv', '--epochs', '2', '--hidden', '16', '--layers', '1', '--curriculum', 'structure', '--tune', '3',
            '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'ScheduleSearch(3 trials on valid rmse' in r.stdout and 'test rmse' in r.stdout
    import pandas as pd
    trials = pd.read_csv(tmp_path/'run'/'search.csv')
    m = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert len(trials) == 3 and m['curriculum'] == 'structure'
    assert (m['recipe'], m['schedule'] is None) == (('structure', False) if trials.curriculum.iloc[0] else (None, True))


def test_explain_writes_a_table_and_a_report(tmp_path):
    csv = tmp_path/'d.csv'
    csv.write_text('smiles,y\n' + '\n'.join(f'{"C" * (i % 10 + 1)}{"O N Cl Br".split()[i // 10]},{i % 7 * 0.5}' for i in range(40)) + '\n')
    r = run('train', '--data', str(csv), '--epochs', '2', '--hidden', '16', '--layers', '1', '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0, r.stderr
    model = str(tmp_path/'run'/'model')
    r = run('explain', '--model', model, '--smiles', 'OC(=O)c1ccccc1', 'C1CC', 'C', '--out', str(tmp_path/'e.html'), '--table', str(tmp_path/'e.csv'), '--top', '3', '--quiet')
    assert r.returncode == 0, r.stderr
    assert '2 molecules explained (integrated_gradients), 1 rejected' in r.stdout
    import pandas as pd
    t = pd.read_csv(tmp_path/'e.csv', keep_default_na=False)
    assert list(t.columns) == ['row', 'smiles', 'target', 'prediction', 'rank', 'group', 'kind', 'effect', 'share', 'error']
    from molnb.explain import find_groups
    assert t[t.row == 0]['rank'].tolist() == ['1', '2', '3'] and set(t[t.row == 0].group) <= set(find_groups('OC(=O)c1ccccc1').group)
    assert t[t.row == 1].error.tolist() == ['unparseable SMILES (syntax error)']
    assert t[t.row == 2].error.tolist() == ['no functional group or ring system recognised']  # methane: atoms scored, nothing to name
    page = (tmp_path/'e.html').read_text()
    assert page.count('<svg') >= 2 and 'Rejected inputs (1)' in page
    r = run('explain', '--model', model, '--smiles', 'CC(=O)Oc1ccccc1', '--brics', '--top', '20', '--table', str(tmp_path/'b.csv'), '--out', str(tmp_path/'b.html'), '--quiet')
    assert r.returncode == 0 and 'BRICS fragment' in set(pd.read_csv(tmp_path/'b.csv').kind)
    r = run('explain', '--model', model, '--smiles', 'CC(=O)Oc1ccccc1', '--murcko', '--top', '20', '--table', str(tmp_path/'m.csv'), '--out', str(tmp_path/'m.html'), '--quiet')
    assert r.returncode == 0 and 'Murcko fragment' in set(pd.read_csv(tmp_path/'m.csv').kind)
    from molnb.data import load_builtin
    (tmp_path/'ref.smi').write_text('\n'.join(load_builtin('freesolv', quiet=True).smiles) + '\n')
    r = run('explain', '--model', model, '--smiles', 'CC(=O)Oc1ccccc1', '--reference', str(tmp_path/'ref.smi'), '--table', str(tmp_path/'a.csv'), '--out', str(tmp_path/'a.html'), '--quiet')
    assert r.returncode == 0, r.stderr
    relied = pd.read_csv(tmp_path/'a.csv').relied_on.iloc[0]
    assert len(relied.split('; ')) == 3 and all(p.endswith(')') for p in relied.split('; ')), relied  # the three characteristics it relied on most, with their probabilities
    assert 'Relied on, by the aspect recognisers' in (tmp_path/'a.html').read_text()
    r = run('explain', '--model', model, '--smiles', 'CCO', '--input', str(csv))
    assert r.returncode == 2 and 'not allowed with argument' in r.stderr
    r = run('explain', '--model', model, '--input', str(csv), '--max', '5')
    assert r.returncode == 2 and '40 molecules to explain, more than --max 5' in r.stderr
    r = run('explain', '--model', model, '--smiles', 'CCO', '--task', 'logP')
    assert r.returncode == 2 and "unknown task 'logP'" in r.stderr


def test_pretrain_then_fine_tune(tmp_path):
    "molnb pretrain on unlabelled molecules writes an encoder that molnb train --encoder-from fine-tunes; bad input stops with a message."
    from molnb.data import load_builtin
    fs = load_builtin('freesolv', quiet=True).to_frame()
    (tmp_path/'corpus.smi').write_text('\n'.join(fs.smiles[:300]) + '\nC1CC\n')
    r = run('pretrain', '--data', str(tmp_path/'corpus.smi'), '--mask', 'group', '--epochs', '2', '--hidden', '32', '--layers', '2', '--out', str(tmp_path/'pre'), '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'element accuracy' in r.stdout and '1 rejected' in r.stdout and '--encoder-from' in r.stdout
    assert {p.name for p in (tmp_path/'pre').iterdir()} >= {'pretrained', 'encoder', 'history.csv', 'metrics.json', 'report.html', 'rejected.csv'}
    m = json.loads((tmp_path/'pre'/'metrics.json').read_text())
    assert m['molecules'] == 300 and m['mask'] == 'GroupMask(0.25)' and m['epochs_run'] == 2 and 0 <= m['valid']['accuracy'] <= 1
    fs.head(120).to_csv(tmp_path/'fs.csv', index=False)
    r = run('train', '--data', str(tmp_path/'fs.csv'), '--encoder-from', str(tmp_path/'pre'), '--epochs', '2', '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'fine-tuning the gin encoder (hidden 32, 2 layers)' in r.stdout and 'test rmse' in r.stdout
    cfg = json.loads((tmp_path/'run'/'model'/'config.json').read_text())
    assert (cfg['hidden'], cfg['layers'], cfg['head']) == (32, 2, 'mlp')
    r = run('pretrain', '--data', str(tmp_path/'corpus.smi'), '--ratio', '0', '--out', str(tmp_path/'x'))
    assert r.returncode == 2 and 'strictly between 0 and 1' in r.stderr
    (tmp_path/'bad.smi').write_text('C1CC\nxyz\n')
    r = run('pretrain', '--data', str(tmp_path/'bad.smi'), '--out', str(tmp_path/'y'))
    assert r.returncode == 2 and 'only 0 valid molecules' in r.stderr and 'every row was rejected' in r.stderr
    r = run('train', '--data', str(tmp_path/'fs.csv'), '--encoder-from', str(tmp_path), '--out', str(tmp_path/'z'))
    assert r.returncode == 2 and 'not a molnb pretrain output or saved model' in r.stderr


def test_shipped_encoders(tmp_path):
    "molnb pretrained lists the encoders inside the package and prints one's model card; train --encoder-from NAME fine-tunes it; a wrong name or options that contradict it stop with a message."
    from molnb.models import shipped_encoders
    name = shipped_encoders().name[0]
    r = run('pretrained')
    assert r.returncode == 0 and name in r.stdout and 'MOSES' in r.stdout and '--encoder-from NAME' in r.stdout, r.stderr
    r = run('pretrained', name)
    assert r.returncode == 0 and r.stdout.startswith(f'# {name}') and '## Transfer' in r.stdout and '## Limits' in r.stdout and 'model.safetensors' in r.stdout
    r = run('pretrained', 'zinc-nothing')
    assert r.returncode == 2 and f"'zinc-nothing' is neither a folder nor a pretrained encoder molnb ships (it ships: {name}" in r.stderr
    r = run('train', '--data', 'freesolv', '--encoder-from', name, '--epochs', '1', '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0 and f'fine-tuning the gin encoder (hidden 128, 4 layers) of {name}' in r.stdout, r.stderr
    assert json.loads((tmp_path/'run'/'metrics.json').read_text())['model'] == f'gin from {name}'
    r = run('train', '--data', 'freesolv', '--encoder-from', 'zinc-nothing', '--out', str(tmp_path/'x'))
    assert r.returncode == 2 and 'neither a folder nor a pretrained encoder molnb ships' in r.stderr
    r = run('train', '--data', 'freesolv', '--encoder-from', name, '--hidden', '64', '--model', 'gcn', '--out', str(tmp_path/'y'))
    assert r.returncode == 2 and f'the pretrained encoder {name} cannot be fine-tuned with model gcn (the encoder has gin), hidden 64 (the encoder has 128)' in r.stderr


def test_pretrain_with_descriptors(tmp_path):
    "molnb pretrain --descriptors learns RDKit's descriptors beside the masked atoms (a set named, its labels unused); train --encoder-from fine-tunes the encoder."
    r = run('pretrain', '--data', 'freesolv', '--n', '200', '--descriptors', '--readout', 'masked', '--mask', 'group', '--epochs', '1', '--hidden', '16', '--layers', '1',
            '--out', str(tmp_path/'pre'), '--quiet')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'pre'/'metrics.json').read_text())
    assert m['molecules'] == 200 and m['config']['readout'] == 'masked' and len(m['descriptors']) > 60 and 'MolWt' in m['descriptors'] and 'r2' in m['valid']
    r = run('train', '--data', 'freesolv', '--encoder-from', str(tmp_path/'pre'), '--epochs', '1', '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0 and 'fine-tuning the gin encoder (hidden 16, 1 layers)' in r.stdout, r.stderr
    r = run('pretrain', '--data', 'freesolv', '--descriptors', '--method', 'contrastive', '--out', str(tmp_path/'x'))
    assert r.returncode == 2 and '--descriptors are learnt by --method masked' in r.stderr


def test_pretrain_contrastive_and_shards(tmp_path):
    "molnb pretrain --method contrastive writes an encoder train --encoder-from takes; --shards streams a corpus file through on-disk shards, every row accounted for."
    from molnb.data import load_builtin
    fs = load_builtin('freesolv', quiet=True).to_frame()
    pd.DataFrame({'smiles': list(fs.smiles[:300]) + ['xyz']}).to_csv(tmp_path/'corpus.csv', index=False)
    r = run('pretrain', '--data', str(tmp_path/'corpus.csv'), '--method', 'contrastive', '--epochs', '2', '--hidden', '32', '--layers', '2', '--out', str(tmp_path/'con'), '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'top-1 retrieval' in r.stdout
    m = json.loads((tmp_path/'con'/'metrics.json').read_text())
    assert m['method'] == 'contrastive' and m['epochs_run'] == 2 and 0 <= m['valid']['top1'] <= 1 and m['rejected'] == 1
    assert (tmp_path/'con'/'encoder'/'config.json').exists() and not (tmp_path/'con'/'pretrained').exists()
    fs.head(120).to_csv(tmp_path/'fs.csv', index=False)
    r = run('train', '--data', str(tmp_path/'fs.csv'), '--encoder-from', str(tmp_path/'con'), '--epochs', '1', '--out', str(tmp_path/'run'), '--quiet')
    assert r.returncode == 0 and 'fine-tuning the gin encoder (hidden 32, 2 layers)' in r.stdout, r.stderr
    r = run('pretrain', '--data', str(tmp_path/'corpus.csv'), '--shards', str(tmp_path/'sh'), '--epochs', '1', '--hidden', '32', '--layers', '2', '--out', str(tmp_path/'big'), '--quiet')
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path/'sh'/'shards.json').read_text())
    assert sum(manifest['sizes']) + manifest['valid'] + manifest['rejected'] == 301 and manifest['rejected'] == 1
    assert pd.read_csv(tmp_path/'big'/'rejected.csv').row.tolist() == [300]
    assert json.loads((tmp_path/'big'/'metrics.json').read_text())['shards'] == str(tmp_path/'sh')
    r = run('pretrain', '--data', str(tmp_path/'corpus.csv'), '--shards', str(tmp_path/'sh2'), '--method', 'contrastive', '--epochs', '1', '--hidden', '32', '--layers', '2',
            '--batch-size', '32', '--out', str(tmp_path/'con2'), '--quiet')  # contrastive pairs drawn within each shard
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path/'con2'/'metrics.json').read_text())['method'] == 'contrastive' and list((tmp_path/'sh2').glob('fingerprints-*.npy'))


def test_replay_updates_a_package(tmp_path):
    "molnb replay: a provider's fingerprint solver and GAN, updated on new molecules; the updated package loads and predicts; bad input stops with a message."
    import torch
    from molnb.data import load_builtin
    from molnb.featurize import fingerprint_set
    from molnb.replay import Gan, GanTask, Solver, SolverConfig, SolverTask, gan_config, load_package, save_package
    from molnb.train import Trainer
    fs = load_builtin('freesolv', quiet=True)
    old = fingerprint_set(fs.subset(range(300)))
    torch.manual_seed(0)
    solver, gan = Solver(SolverConfig(shape=[2048], outputs=1, task='regression')), Gan(gan_config(old, hidden=64))
    Trainer(solver, old, task=SolverTask(), epochs=2, quiet=True).fit()
    Trainer(gan, old, old, task=GanTask(), epochs=2, quiet=True).fit()
    save_package(solver, gan, tmp_path/'provider')
    fs.to_frame().iloc[300:420].to_csv(tmp_path/'new.csv', index=False)
    r = run('replay', '--package', str(tmp_path/'provider'), '--data', str(tmp_path/'new.csv'), '--targets', fs.targets[0], '--epochs', '2', '--out', str(tmp_path/'upd'), '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'new-data validation rmse' in r.stdout
    m = json.loads((tmp_path/'upd'/'metrics.json').read_text())
    assert m['molecules'] == 120 and m['steps'] == 5 and m['optimised_inputs'] == 64 and m['valid_after']['rmse'] > 0
    s2, g2 = load_package(tmp_path/'upd'/'package')
    assert s2(torch.zeros(2, 2048)).shape == (2, 1) and g2.generator.sample(3).shape == (3, 2048)
    assert set(pd.read_csv(tmp_path/'upd'/'history.csv').step) == {2, 5}
    Solver(SolverConfig(shape=[64], outputs=1, task='regression')).save(tmp_path/'small'); Gan(gan_config(fingerprint_set(['CCO', 'CCN']).subset([0, 1]))).save(tmp_path/'small')
    r = run('replay', '--package', str(tmp_path/'small'), '--data', str(tmp_path/'new.csv'), '--targets', fs.targets[0], '--out', str(tmp_path/'x'))
    assert r.returncode == 2 and 'reads samples of shape [64]' in r.stderr
    r = run('replay', '--package', str(tmp_path/'provider'), '--data', str(tmp_path/'new.csv'), '--out', str(tmp_path/'w'))  # two label columns, one output
    assert r.returncode == 2 and 'label columns, the solver 1 outputs' in r.stderr
    pd.DataFrame({'smiles': fs.smiles[:40], 'active': [i % 2 for i in range(40)]}).to_csv(tmp_path/'cls.csv', index=False)
    r = run('replay', '--package', str(tmp_path/'provider'), '--data', str(tmp_path/'cls.csv'), '--out', str(tmp_path/'y'))
    assert r.returncode == 2 and "the new data is 'classification' (every label is 0 or 1, so the labels were read as classes), the solver 'regression'" in r.stderr
    assert 'name that column with --targets' in r.stderr and "task=" not in r.stderr  # replay's own flags, no Python advice


def test_replay_updates_a_smiles_generator_package(tmp_path):
    "molnb replay on a package whose generator writes SMILES: new molecules are read with the generator's own ECFP settings (here ECFP6), and the updated generator is a SMILES model again."
    import torch
    from molnb.data import load_builtin
    from molnb.featurize import fingerprint_set
    from molnb.replay import Solver, SolverConfig, SolverTask, load_package, save_package
    from molnb.replay_molecules import SmilesGenerator, smiles_generator
    from molnb.train import Trainer
    fs = load_builtin('freesolv', quiet=True)
    old = fingerprint_set(fs.subset(range(300)), radius=3)
    torch.manual_seed(0)
    solver = Solver(SolverConfig(shape=[2048], outputs=1, task='regression'))
    Trainer(solver, old, task=SolverTask(), epochs=2, quiet=True).fit()
    lm = smiles_generator(old.smiles, old, epochs=40, hidden=64, seed=0)  # about a fifth of its draws are molecules
    assert lm.cfg.features == dict(kind='ecfp', radius=3, bits=2048)
    save_package(solver, lm, tmp_path/'provider')
    fs.to_frame().iloc[300:420].to_csv(tmp_path/'new.csv', index=False)
    r = run('replay', '--package', str(tmp_path/'provider'), '--data', str(tmp_path/'new.csv'), '--targets', fs.targets[0], '--epochs', '2', '--out', str(tmp_path/'upd'), '--quiet')
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path/'upd'/'metrics.json').read_text())
    assert m['molecules'] == 120 and m['optimised_inputs'] == 64 and m['valid_after']['rmse'] > 0
    s2, g2 = load_package(tmp_path/'upd'/'package')
    assert isinstance(g2, SmilesGenerator) and g2.cfg.features == lm.cfg.features and len(g2.cfg.vocab) >= len(lm.cfg.vocab)
    x = g2.sample(4, torch.Generator().manual_seed(0))
    assert torch.equal(x, fingerprint_set(g2.last_smiles, radius=3).x)  # its samples are ECFP6 bits of the molecules it wrote
    Solver(SolverConfig(shape=[1024], outputs=1, task='regression')).save(tmp_path/'provider')  # a solver that does not read the generator's 2048 bits
    r = run('replay', '--package', str(tmp_path/'provider'), '--data', str(tmp_path/'new.csv'), '--targets', fs.targets[0], '--out', str(tmp_path/'x'))
    assert r.returncode == 2 and 'as 2048-bit ECFP6 fingerprints' in r.stderr


def test_replay_updates_a_graph_package(tmp_path):
    "molnb replay on a GIN solver over soft graphs: new molecules read as soft graphs of the solver's spec, the large ones left out and counted."
    import dataclasses, torch
    from molnb.data import load_builtin
    from molnb.featurize import featurize
    from molnb.replay import Gan, GanTask, Solver, SolverConfig, SolverTask, gan_config, load_package, save_package, soft_graph_set
    from molnb.train import Trainer
    fs = load_builtin('freesolv', quiet=True)
    old = soft_graph_set(featurize(fs.subset(range(200)), quiet=True), atoms=14)
    torch.manual_seed(0)
    solver = Solver(SolverConfig(shape=list(old.shape), outputs=1, task='regression', kind='gnn', graph=dataclasses.asdict(old.spec), hidden=32))
    gan = Gan(gan_config(old, hidden=32))
    Trainer(solver, old, task=SolverTask(), epochs=2, quiet=True).fit()
    Trainer(gan, old, old, task=GanTask(), epochs=2, quiet=True).fit()
    save_package(solver, gan, tmp_path/'provider')
    new = fs.to_frame().iloc[200:320]
    new.to_csv(tmp_path/'new.csv', index=False)
    r = run('replay', '--package', str(tmp_path/'provider'), '--data', str(tmp_path/'new.csv'), '--targets', fs.targets[0], '--epochs', '2', '--out', str(tmp_path/'upd'), '--quiet')
    assert r.returncode == 0, r.stderr
    big = sum(featurize(fs.subset(range(200, 320)), quiet=True)[k].num_nodes > 14 for k in range(120))
    assert big > 0 and f'{big} molecules left out: more atoms than the solver' in r.stdout
    m = json.loads((tmp_path/'upd'/'metrics.json').read_text())
    assert m['molecules'] == 120 - big and m['rejected'] == big and 0 <= m['optimised_valid'] <= 1
    s2, g2 = load_package(tmp_path/'upd'/'package')
    assert s2.cfg.kind == 'gnn' and s2(old.x[:3]).shape == (3, 1) and g2.generator.sample(2).shape == (2, old.spec.width)
