"Uncertainty and the applicability domain end to end: `molnb train --ensemble` / `--uncertainty`, `molnb predict`'s columns, and the bad input of issue 39."
import json, subprocess
import numpy as np, pandas as pd, pytest
from molnb.data import load_builtin, split as make_split, load
from molnb.fit import fit
from molnb.models import PropertyModel
from molnb.train import predict

FS = load_builtin('freesolv', quiet=True).to_frame()[['smiles', 'expt']]  # 642 molecules, regression
SMALL = dict(epochs=2, hidden=16, layers=1, quiet=True)


def molnb(*args, timeout=600):
    return subprocess.run(['molnb', *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def ensemble_run(tmp_path_factory):
    "A 3-member ensemble trained and saved by `molnb train --ensemble 3 --uncertainty dropout`."
    out = tmp_path_factory.mktemp('ens')
    FS.head(300).to_csv(out/'fs.csv', index=False)
    r = molnb('train', '--data', out/'fs.csv', '--ensemble', 3, '--uncertainty', 'dropout', '--epochs', 3, '--hidden', 32, '--layers', 2, '--out', out/'run', '--quiet')
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def test_train_writes_an_ensemble_that_predicts_with_intervals(ensemble_run):
    out, said = ensemble_run
    assert 'ensemble member 3 of 3' in said and 'ensemble (3 members) on the test part' in said and "the ensemble's" in said
    model = out/'run'/'model'
    assert sorted(p.name for p in (model/'members').iterdir()) == ['1', '2']
    cal = json.loads((model/'uncertainty.json').read_text())
    assert sorted(cal) == ['dropout', 'ensemble'] and cal['ensemble']['draws'] == 3 and cal['dropout']['draws'] == 20
    m = json.loads((out/'run'/'metrics.json').read_text())
    assert m['members'] == 3 and 0.5 < m['uncertainty']['ensemble']['coverage'] <= 1
    assert 'Uncertainty on the test part (3 models)' in (out/'run'/'plot.html').read_text()
    (out/'new.csv').write_text('id,smiles\na,CCO\nb,CC[Se]CC\nc,not a smiles\nd,c1ccccc1Cl\n')
    r = molnb('predict', '--model', model, '--input', out/'new.csv', '--out', out/'p.csv', '--coverage', 0.8)
    assert r.returncode == 0, r.stderr
    p = pd.read_csv(out/'p.csv', keep_default_na=False)
    assert list(p.columns) == ['row', 'smiles', 'id', 'canonical_smiles', 'expt', 'expt_std', 'expt_lo', 'expt_hi',
                               'nearest_train_similarity', 'embedding_distance', 'unseen', 'in_domain', 'error']
    assert p.in_domain.tolist() == ['True', 'False', '', 'True'] and 'element Se' in p.unseen[1] and p.error[2] != ''
    ok = p[p.error == '']
    assert (ok.expt_lo.astype(float) < ok.expt.astype(float)).all() and (ok.expt.astype(float) < ok.expt_hi.astype(float)).all()
    drop = molnb('predict', '--model', model, '--input', out/'new.csv', '--out', out/'d.csv', '--uncertainty', 'dropout', '--coverage', 0.95)
    assert drop.returncode == 0, drop.stderr
    wide = pd.read_csv(out/'d.csv', keep_default_na=False).iloc[[0, 3]]
    assert (wide.expt_hi.astype(float) > wide.expt_lo.astype(float)).all()
    plain = molnb('predict', '--model', model, '--input', out/'new.csv', '--out', out/'n.csv', '--uncertainty', 'none')
    assert plain.returncode == 0 and 'expt_std' not in pd.read_csv(out/'n.csv').columns


def test_the_saved_ensemble_loads_as_any_model(ensemble_run):
    out, _ = ensemble_run
    m = PropertyModel.load(out/'run'/'model')
    assert len(m.members) == 2 and sorted(m.uncertainty) == ['dropout', 'ensemble'] and m.domain is not None
    got = predict(m, ['CCO', 'CCCO'], coverage=0.9)
    assert (got.expt_hi - got.expt_lo > 0).all() and got.in_domain.tolist() == [True, True]


def test_bad_uncertainty_requests_are_refused_in_words(ensemble_run, tmp_path):
    out, _ = ensemble_run
    (tmp_path/'x.smi').write_text('CCO\n')
    for args, said in ((['--coverage', 1.5], 'coverage must be in (0, 1), got 1.5'), (['--coverage', 0], 'coverage must be in (0, 1)'),
                       (['--coverage', 0.999], 'too few to calibrate 100% intervals: split-conformal needs at least 999')):
        r = molnb('predict', '--model', out/'run'/'model', '--input', tmp_path/'x.smi', '--out', tmp_path/'p.csv', *args)
        assert r.returncode == 2 and said in r.stderr, r.stderr
    for args, said in ((['--ensemble', 1], '--ensemble 1: an ensemble needs at least 2 members'), (['--ensemble', 50], 'choose at most 20'),
                       (['--uncertainty', 'bayes'], "invalid choice: 'bayes'"),
                       (['--uncertainty', 'dropout', '--calibrator', 'platt'], "unknown calibrator 'platt' for regression; choose from ['t', 'z']")):
        r = molnb('train', '--data', out/'fs.csv', '--epochs', 1, '--out', tmp_path/'run', *args)
        assert r.returncode == 2 and said in r.stderr and not (tmp_path/'run').exists(), r.stderr


def test_a_model_saved_without_uncertainty_says_how_to_get_it(tmp_path):
    r = fit(FS.head(120), smiles_col='smiles', **SMALL)
    r.save(tmp_path/'run')
    pred = predict(r.model, ['CCO'])  # no uncertainty, but the domain is always there
    assert 'expt_std' not in pred and pred.in_domain.tolist() == [True]
    with pytest.raises(ValueError, match=r'saved without uncertainty, so it cannot give ensemble uncertainty: train an ensemble \(molnb train --ensemble K'):
        predict(PropertyModel.load(tmp_path/'run'/'model'), ['CCO'], uncertainty='ensemble')
    (tmp_path/'x.smi').write_text('CCO\n')
    c = molnb('predict', '--model', tmp_path/'run'/'model', '--input', tmp_path/'x.smi', '--out', tmp_path/'p.csv', '--uncertainty', 'dropout')
    assert c.returncode == 2 and 'molnb train --uncertainty dropout' in c.stderr


def test_the_calibrator_is_the_users_choice():
    "Regression calibrates a Student-t by default (its degrees of freedom saved); `calibrator='z'` gives z-scaling; the conformal intervals are the same."
    from molnb.uncertainty import Calibration
    t = fit(FS.head(200), smiles_col='smiles', uncertainty='dropout', **SMALL)
    z = fit(FS.head(200), smiles_col='smiles', uncertainty='dropout', calibrator='z', **SMALL)
    ct, cz = t.model.uncertainty['dropout'], z.model.uncertainty['dropout']
    assert (ct.calibrator, cz.calibrator, cz.dof) == ('t', 'z', None) and 2.5 <= ct.dof[0] <= 1000
    assert t.uncertainty['dropout']['width'] == pytest.approx(z.uncertainty['dropout']['width'], rel=0.05)  # dropout passes differ run to run, the intervals' rule does not
    with pytest.raises(ValueError, match=r"unknown calibrator 'isotonic' for regression"):
        fit(FS.head(200), smiles_col='smiles', uncertainty='dropout', calibrator='isotonic', **SMALL)
    with pytest.raises(ValueError, match=r"calibrator='z' calibrates uncertainty, and this run has none: add ensemble=K or uncertainty=METHOD"):
        fit(FS.head(200), smiles_col='smiles', calibrator='z', **SMALL)


def test_a_validation_part_too_small_to_calibrate_is_refused_before_training(capsys):
    with pytest.raises(ValueError, match=r"the validation part has 5 labelled molecules of 'expt': too few to calibrate uncertainty \(at least 9"):
        fit(FS.head(50), smiles_col='smiles', ensemble=2, **SMALL)
    assert 'ensemble member' not in capsys.readouterr().out  # refused before any model was trained


def test_a_one_class_validation_part_cannot_be_calibrated():
    "A classification set whose few positives all fall in the training part: calibration is refused, naming the class, before training."
    ds = load(FS.head(200), smiles_col='smiles', quiet=True)
    train_idx = make_split(ds, 'random', seed=0).train
    y = np.zeros(len(ds)); y[train_idx[:10]] = 1
    frame = pd.DataFrame({'smiles': ds.smiles, 'active': y.astype(int)})
    with pytest.raises(ValueError, match=r"the validation part's 'active' labels are all 0 \(20 molecules\): probabilities cannot be calibrated on one class; use a stratified split"):
        fit(frame, smiles_col='smiles', uncertainty='dropout', **SMALL)


def test_classification_ensemble_gives_calibrated_probabilities_and_sets():
    bbbp = load('bbbp', quiet=True).to_frame().sample(400, random_state=0)
    r = fit(bbbp, smiles_col='smiles', ensemble=2, split='stratified', **SMALL)
    u = r.uncertainty['ensemble']
    assert {'ece', 'brier', 'coverage', 'set_size', 'roc_auc'} <= set(u) and 0 <= u['ece'] <= 1
    p = predict(r.model, ['CCO', 'c1ccccc1CCN'])
    t = r.model.cfg.targets[0]
    assert set(p[f'{t}_set']) <= {'0', '1', '0,1', ''} and p[t].between(0, 1).all() and (p[f'{t}_entropy'] >= 0).all()


def test_unseen_elements_are_flagged(tmp_path):
    "Issue 40, case 12: an element, charge or valence no training molecule had is named, and the molecule is out of the domain."
    r = fit(FS.head(120), smiles_col='smiles', **SMALL)
    p = predict(r.model, ['CCO', '[U]', 'CC[Se]CC', 'C[S+](C)C', 'CC(=O)O.[Fe+2]'])
    assert p.in_domain.tolist() == [True, False, False, False, False]
    assert p.unseen[1] == 'U valence 0; element U' and 'element Se' in p.unseen[2]
    assert p.unseen[3] == 'S valence 3' and 'charge +2' in p.unseen[4]


def test_mean_variance_estimation_from_the_command_line(tmp_path):
    "`molnb train --uncertainty mve`: a variance head trained by the Gaussian NLL, calibrated, saved, and predicting intervals that differ by molecule."
    FS.head(300).to_csv(tmp_path/'fs.csv', index=False)
    r = molnb('train', '--data', tmp_path/'fs.csv', '--uncertainty', 'mve', '--epochs', 3, '--hidden', 32, '--layers', 2, '--out', tmp_path/'run', '--quiet')
    assert r.returncode == 0, r.stderr
    assert 'mve (a variance head) on the test part' in r.stdout
    model = tmp_path/'run'/'model'
    assert json.loads((model/'config.json').read_text())['variance'] is True and list(json.loads((model/'uncertainty.json').read_text())) == ['mve']
    (tmp_path/'new.smi').write_text('CCO\nc1ccccc1Cl\nCCCCCCCCCCO\n')
    p = molnb('predict', '--model', model, '--input', tmp_path/'new.smi', '--out', tmp_path/'p.csv')
    assert p.returncode == 0, p.stderr
    got = pd.read_csv(tmp_path/'p.csv')
    assert (got.expt_lo < got.expt).all() and (got.expt < got.expt_hi).all() and got.expt_std.nunique() == 3
    e = molnb('predict', '--model', model, '--input', tmp_path/'new.smi', '--out', tmp_path/'e.csv', '--uncertainty', 'ensemble')
    assert e.returncode == 2 and "saved only with ['mve'], so it cannot give ensemble uncertainty" in e.stderr


def test_an_ensemble_of_variance_heads_predicts_the_mixture():
    "Each member's two draws (mean -+ sd): the draws' variance is the members' mean variance plus the variance of their means."
    from molnb.uncertainty import output_samples, mve_draws
    r = fit(FS.head(200), smiles_col='smiles', ensemble=2, uncertainty='mve', **SMALL)
    m, test = r.model, r.parts[2]
    assert sorted(m.uncertainty) == ['ensemble', 'mve'] and all(x.cfg.variance for x in [m, *m.members]) and m.uncertainty['ensemble'].draws == 2
    S = output_samples(m, test, 'ensemble')
    a, b = mve_draws(m, test), mve_draws(m.members[0], test)
    mu = np.stack([a.mean(0), b.mean(0)]); var = np.stack([a.std(0), b.std(0)]) ** 2
    assert S.shape == (4, len(test), 1)
    np.testing.assert_allclose(S.var(0), var.mean(0) + mu.var(0), rtol=1e-5)


def test_mean_variance_estimation_is_refused_for_classification(capsys):
    bbbp = load('bbbp', quiet=True).to_frame().sample(200, random_state=0)
    with pytest.raises(ValueError, match=r"uncertainty='mve' \(mean–variance estimation\) is for regression and .* is classification: use 'ensemble' or 'dropout'"):
        fit(bbbp, smiles_col='smiles', uncertainty='mve', **SMALL)
