"MoleculeNet sets from the local folder: every row accounted for, metadata as documented."
import pytest
from molnb.data import load_moleculenet, MOLECULENET, scaffold_split, stratified_split, Split

ROWS = dict(esol=1128, freesolv=642, lipo=4200, bbbp=2039, bace=1513, clintox=1478, sider=1427, tox21=7831, hiv=41127)


@pytest.mark.parametrize('name', sorted(ROWS))
def test_every_row_is_accepted_or_rejected(name, moleculenet_dir):
    ds = load_moleculenet(name, root=moleculenet_dir, quiet=True)
    assert len(ds) + len(ds.rejected) == ROWS[name]
    assert ds.task == MOLECULENET[name]['task'] and ds.metric == MOLECULENET[name]['metric']
    assert (ds.rejected.reason.str.len() > 0).all()


def test_known_rough_edges(moleculenet_dir):
    hiv = load_moleculenet('hiv', root=moleculenet_dir, quiet=True)
    assert (hiv.rejected.reason.str.contains('SMILES|chemistry')).sum() == 7
    tox = load_moleculenet('tox21', root=moleculenet_dir, quiet=True)
    assert (tox.rejected.reason.str.contains('SMILES|chemistry')).sum() == 8
    assert len(tox.targets) == 12 and (~tox.mask).sum() > 15000


def test_missing_folder_says_what_and_where(tmp_path, monkeypatch):
    monkeypatch.delenv('MOLNB_DATA', raising=False)
    with pytest.raises(FileNotFoundError, match='set MOLNB_DATA'): load_moleculenet('bace')
    monkeypatch.setenv('MOLNB_DATA', str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"'bace.csv' not found: looked for {tmp_path}"): load_moleculenet('bace')


def test_scaffold_split_is_deterministic_and_saveable(moleculenet_dir, tmp_path):
    ds = load_moleculenet('bbbp', root=moleculenet_dir, quiet=True)
    a, b = scaffold_split(ds), scaffold_split(ds)
    assert (a.test == b.test).all()
    n = len(ds)
    assert abs(len(a.train) - 0.8 * n) <= 0.02 * n
    a.save(tmp_path/'s.json')
    assert (Split.load(tmp_path/'s.json').valid == a.valid).all()


@pytest.mark.parametrize('name', ['bbbp', 'bace'])
def test_scaffold_split_of_a_class_sorted_file_keeps_both_classes(name, moleculenet_dir):
    "BBBP and BACE list their molecules roughly by class: the single-scaffold groups must go in deepchem's and Hu et al.'s order (last first), or a part gets one class and no ROC-AUC (the opposite order left bbbp's test part all positive, bace's all negative)."
    import numpy as np
    ds = load_moleculenet(name, root=moleculenet_dir, quiet=True)
    s = scaffold_split(ds)
    for part in (s.valid, s.test):
        assert 0.2 < np.nanmean(ds.y[part, 0]) < 0.8
    assert list(s.test[:3]) == sorted(s.test[:3], reverse=True)  # the single scaffolds, last in the file first


def test_stratified_split_keeps_class_balance(moleculenet_dir):
    ds = load_moleculenet('bace', root=moleculenet_dir, quiet=True)
    s = stratified_split(ds, seed=3)
    overall = ds.y[:, 0].mean()
    for part in (s.train, s.valid, s.test):
        assert abs(ds.y[part, 0].mean() - overall) < 0.02
