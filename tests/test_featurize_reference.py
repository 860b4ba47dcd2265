"The fast featurizer agrees with a plain per-atom, per-bond reading of RDKit on real molecules."
import pandas as pd, pytest
from rdkit import Chem
from molnb.featurize import ATOM_FEATURES as AF, BOND_FEATURES as BF, mol_to_graph, featurize

EXOTIC = ['N->[Pt](<-N)(Cl)Cl', 'C/C=C\\C', 'F/C=C/F', '[O-][n+]1ccccc1', 'c1cc[nH]c1', '[2H]C([2H])([2H])O', 'C[S@@](=O)c1ccccc1',
          '[Na+].[Cl-]', '*C(=O)O', 'C#N', 'C1CC12CC2', 'O=[N+]([O-])c1ccccc1', '[Fe+3]', 'B(O)(O)c1ccccc1', 'CC[Si](C)(C)C']


def idx(vals, v): return vals.index(v) if v in vals else len(vals)


def reference(smi):
    m = Chem.MolFromSmiles(smi)
    atoms = [[idx(AF['element'], a.GetSymbol()), idx(AF['chirality'], str(a.GetChiralTag())), idx(AF['degree'], a.GetDegree()),
              idx(AF['formal_charge'], a.GetFormalCharge()), idx(AF['num_hs'], a.GetTotalNumHs()),
              idx(AF['hybridization'], str(a.GetHybridization())), int(a.GetIsAromatic()), int(a.IsInRing())] for a in m.GetAtoms()]
    bonds, pairs = [], []
    for b in m.GetBonds():
        f = [idx(BF['bond_type'], str(b.GetBondType())), idx(BF['stereo'], str(b.GetStereo())), int(b.GetIsConjugated()), int(b.IsInRing())]
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        bonds += [f, f]; pairs += [[i, j], [j, i]]
    return atoms, bonds, pairs


def check(smi, g):
    atoms, bonds, pairs = reference(smi)
    assert g.x.tolist() == atoms, smi
    assert g.edge_attr.tolist() == bonds, smi
    assert g.edge_index.t().tolist() == pairs, smi


@pytest.mark.parametrize('smi', EXOTIC)
def test_exotic_molecules(smi):
    check(smi, mol_to_graph(smi))


def test_moleculenet_sample(moleculenet_dir):
    smiles = []
    for name, col in (('bbbp', 'smiles'), ('clintox', 'smiles'), ('bace', 'mol'), ('hiv', 'smiles')):
        df = pd.read_csv(moleculenet_dir/f'{name}.csv')
        smiles += [s for s in df[col].iloc[::max(1, len(df) // 400)] if Chem.MolFromSmiles(s) is not None]
    gs = featurize(smiles, cache=False, n_workers=0, quiet=True)
    assert len(gs) == len(smiles)
    for k, smi in enumerate(smiles): check(smi, gs[k])
