"The on-disk featurization cache: reused, keyed by settings and data, safe to load."
import numpy as np, pytest, torch
import molnb.featurize as F
from molnb.core import cache_dir
from molnb.data import from_smiles, load_builtin

SMI = ['CCO', 'c1ccccc1O', 'CC(=O)Nc1ccc(O)cc1', 'CCN(CC)CC']


def entries(): return sorted((cache_dir()/'graphs').glob('*.pt'))


def test_second_call_reads_the_cache(monkeypatch):
    first = F.featurize(SMI, quiet=True)
    def boom(*a, **k): raise AssertionError('featurized again instead of reading the cache')
    monkeypatch.setattr(F, '_extract', boom)
    second = F.featurize(SMI, quiet=True)
    assert torch.equal(first._data.x, second._data.x) and second.smiles == SMI


def test_settings_and_labels_change_the_key():
    F.featurize(SMI, quiet=True)
    F.featurize(SMI, conformers=True, quiet=True)
    F.featurize(SMI, conformers=True, seed=1, quiet=True)
    F.featurize(from_smiles(SMI, labels=[1.0, 2.0, 3.0, 4.0], quiet=True), quiet=True)
    F.featurize(from_smiles(SMI, labels=[1.0, 2.0, 3.0, 5.0], quiet=True), quiet=True)
    assert len(entries()) == 5


def test_corrupt_entry_is_rebuilt():
    F.featurize(SMI, quiet=True)
    (p,) = entries(); p.write_bytes(b'not a torch file')
    g = F.featurize(SMI, quiet=True)
    assert len(g) == 4 and len(entries()) == 1


def test_saved_set_loads_with_weights_only(tmp_path):
    g = F.featurize(load_builtin('freesolv', quiet=True), cache=False, quiet=True)
    g.save(tmp_path/'fs.pt')
    torch.load(tmp_path/'fs.pt', weights_only=True)  # no pickled code in the file
    h = F.GraphSet.load(tmp_path/'fs.pt')
    assert len(h) == len(g) and h.targets == ['expt'] and h.task == 'regression'
    assert torch.equal(h[10].edge_attr, g[10].edge_attr)


def test_parallel_equals_serial():
    ds = load_builtin('nci_tpsa', quiet=True).subset(range(3000))
    a = F.featurize(ds, cache=False, n_workers=0, quiet=True)
    b = F.featurize(ds, cache=False, n_workers=2, quiet=True)
    for k in ('x', 'edge_index', 'edge_attr', 'y'):
        assert torch.equal(a._data[k], b._data[k]), k


def test_a_cached_graph_set_reports_this_input_s_rejected_rows():
    "Two inputs with the same accepted molecules at the same rows but different rejected rows share the cache entry, not the rejections."
    first = F.featurize(from_smiles(['CCO', 'C1CC', 'c1ccccc1', ''], quiet=True), quiet=True)
    second = F.featurize(from_smiles(['OCC', 'xyz', 'c1ccccc1'], quiet=True), quiet=True)  # same canonical molecules at rows 0 and 2
    assert first.rejected.row.tolist() == [1, 3]
    assert second.rejected[['row', 'input']].values.tolist() == [[1, 'xyz']]
