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
