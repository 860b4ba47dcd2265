"Difficulty scoring and curriculum training: bad input and edge cases get clear errors or documented behaviour."
import math, warnings
import numpy as np, pandas as pd, pytest, torch
from molnb.data import load, from_smiles
from molnb.featurize import featurize
from molnb.models import ModelConfig, PropertyModel
from molnb.scoring import score, difficulty, training_features, recipe_weights, select, complexity_features
from molnb.curriculum import Competence, CurriculumSampler, curriculum_train, finetune_model, screen, error_table

SMALL = dict(encoder='gin', hidden=16, layers=1)


@pytest.fixture(scope='module')
def freesolv():
    ds = load('freesolv', quiet=True)
    return ds, featurize(ds, quiet=True)


def test_set_smaller_than_a_batch_trains_on_all_of_it(freesolv):
    ds, gs = freesolv
    tiny = gs[:5]
    res = curriculum_train(PropertyModel(ModelConfig(**SMALL)), tiny, difficulty=np.linspace(0.1, 0.9, 5), epochs=3, batch_size=64, quiet=True)
    assert res.status == 'finished'
    assert res.history.step.tolist() == [1, 2, 3]  # one batch per epoch
    assert (res.history.pool == 5).all()


def test_all_equal_difficulties_degenerate_to_random_order(freesolv):
    ds, gs = freesolv
    table = complexity_features(['CCC', 'CCN', 'CCS'])  # three-atom chains: identical size features
    d = difficulty(table, {'atoms': 1, 'bonds': 1})
    assert np.allclose(d, 0.5)
    s = CurriculumSampler(np.full(60, 0.5), Competence(c0=0.5), batch_size=10, epochs=4, seed=0)
    first = s.admitted(0)
    assert len(first) == 30 and len(set(first.tolist())) == 30
    # ties are broken at random (seeded): not simply the first positions
    assert sorted(first.tolist()) != list(range(30))
    assert np.array_equal(first, CurriculumSampler(np.full(60, 0.5), Competence(c0=0.5), batch_size=10, epochs=4, seed=0).admitted(0))


def test_nan_labels_in_training_features():
    smiles = ['CCO', 'CCCO', 'CCCCO', 'CCCCCO', 'c1ccccc1', 'c1ccccc1C', 'c1ccccc1CC', 'CC(C)O', 'CCN', 'CCCN', 'CCCCN', 'OCCO']
    a = np.arange(12, dtype=float); b = a * 2; b[[2, 5, 7]] = np.nan  # a second task with gaps
    y = np.stack([a, b], 1); y[3, 0] = np.nan
    ds = from_smiles(smiles, y, targets=['a', 'b'], quiet=True)
    assert len(ds) == 12 and len(ds.rejected) == 0  # rows with one label left keep it; rows with none are rejected at load, with the reason
    gs = featurize(ds, quiet=True)
    tf = training_features(gs, folds=2, repeats=2, epochs=2, quiet=True)
    assert tf.distance.notna().all()  # each molecule's distance averages the tasks it has labels for
    assert tf.uncertainty.notna().all()
    t = score(gs, 'training', folds=2, repeats=2, epochs=2, quiet=True)
    assert t.difficulty.notna().all() and t.difficulty.between(0, 1).all()
    only_gaps = from_smiles(['CCO', 'CCN'], [np.nan, 1.0], quiet=True)
    assert only_gaps.rejected.reason.tolist() == ['all labels missing']


def test_molecule_without_any_chosen_feature_gets_half_and_a_warning():
    table = pd.DataFrame({'distance': [0.1, np.nan, 0.3]})
    with pytest.warns(UserWarning, match='1 molecule'):
        d = difficulty(table, {'distance': 1})
    assert d[1] == 0.5


def test_weights_that_do_not_sum_to_one_are_relative():
    assert recipe_weights({'atoms': 2, 'mce18': 6}) == {'atoms': 0.25, 'mce18': 0.75}
    table = complexity_features(['CCO', 'c1ccccc1', 'CC(C)(C)C1CCCCC1'])
    assert np.allclose(difficulty(table, {'atoms': 2, 'mce18': 6}), difficulty(table, {'atoms': 0.25, 'mce18': 0.75}))
    with pytest.raises(ValueError, match='>= 0'): recipe_weights({'atoms': -1})
    with pytest.raises(ValueError, match='finite'): recipe_weights({'atoms': float('nan')})
    with pytest.raises(ValueError, match='at least one weight'): recipe_weights({'atoms': 0})


@pytest.mark.parametrize('c0', [0, -0.1, 1.01, 5])
def test_c0_outside_unit_interval(c0, freesolv):
    with pytest.raises(ValueError, match=r'c0 must be in \(0, 1\]'): Competence(c0=c0)
    ds, gs = freesolv
    changed = Competence(); changed.c0 = c0  # a schedule edited after creation (e.g. by a dashboard slider) is checked again
    with pytest.raises(ValueError, match=r'c0 must be in \(0, 1\]'):
        curriculum_train(PropertyModel(ModelConfig(**SMALL)), gs[:20], difficulty=np.random.rand(20), schedule=changed, epochs=1, quiet=True)


def test_c0_of_one_is_no_curriculum_in_effect(freesolv):
    s = CurriculumSampler(np.random.default_rng(0).random(100), Competence(c0=1.0), batch_size=10, epochs=2)
    assert s.pool_size(0) == 100


def test_unknown_feature_name_lists_the_available_ones():
    table = complexity_features(['CCO', 'CCN'])
    with pytest.raises(ValueError, match=r"no feature named \['hardness'\].*available: \['atoms'"):
        difficulty(table, {'hardness': 1})
    with pytest.raises(ValueError, match='unknown recipe'): score(['CCO'], 'hardest')


def test_training_features_need_labels_and_enough_molecules():
    ds = from_smiles(['CCO', 'CCN', 'CCC', 'CCCl', 'CCBr', 'CCI'], quiet=True)
    with pytest.raises(ValueError, match='unlabelled'): training_features(featurize(ds, quiet=True), quiet=True)
    lab = from_smiles(['CCO', 'CCN', 'CCC', 'CCCl'], [1., 2., 3., 4.], quiet=True)
    with pytest.raises(ValueError, match='too few'): training_features(featurize(lab, quiet=True), folds=3, quiet=True)
    with pytest.raises(ValueError, match='folds must be'): training_features(featurize(lab, quiet=True), folds=1, quiet=True)


def test_difficulty_of_the_wrong_length_or_with_nan(freesolv):
    ds, gs = freesolv
    m = PropertyModel(ModelConfig(**SMALL))
    with pytest.raises(ValueError, match='3 difficulty values for a training set of 20'):
        curriculum_train(m, gs[:20], difficulty=[0.1, 0.2, 0.3], epochs=1, quiet=True)
    with pytest.raises(ValueError, match='NaN'):
        curriculum_train(m, gs[:3], difficulty=[0.1, float('nan'), 0.3], epochs=1, quiet=True)


def test_select_checks_its_arguments(freesolv):
    ds, gs = freesolv
    t = score(ds, 'structure', quiet=True)
    with pytest.raises(ValueError, match='exactly one'): select(t)
    with pytest.raises(ValueError, match='unknown level'): select(t, level='trivial')
    with pytest.raises(ValueError, match=r'fraction must be in \(0, 1\]'): select(t, easiest=1.5)
    with pytest.raises(ValueError, match='rows but data has'): select(t, gs[:10], easiest=0.5)
    hard = select(t, ds, hardest=0.1)
    assert len(hard) == round(0.1 * len(ds)) and min(t.difficulty.iloc[[ds.smiles.index(s) for s in hard.smiles]]) >= np.quantile(t.difficulty, 0.89)


def test_two_stage_curriculum_switches_ordering():
    rng = np.random.default_rng(1)
    a, b = rng.random(200), rng.random(200)
    s = CurriculumSampler([a, b], Competence(c0=0.2, duration=0.5), batch_size=20, epochs=10)
    first, second = s.state(0), s.state(s.total // 4 + 1)
    assert (first['stage'], second['stage']) == (0, 1)
    assert set(s.admitted(0).tolist()) == set(np.argsort(a)[:40].tolist())
    assert set(s.admitted(s.total // 4 + 1).tolist()) == set(np.argsort(b)[:s.pool_size(s.total // 4 + 1)].tolist())


def test_round_mode_keeps_the_pool_fixed_within_an_epoch():
    d = np.random.default_rng(2).random(300)
    s = CurriculumSampler(d, Competence('step', c0=0.2, rounds=3, duration=0.6), batch_size=30, epochs=10, mode='round')
    batches = s(0, 300, torch.Generator().manual_seed(0))
    pool = set(s.admitted(0).tolist())
    assert len(batches) == 10 and all(set(b) <= pool for b in batches)
    assert len(pool) == 60


def test_finetune_from_saved_folder_and_screen(tmp_path, freesolv):
    ds, gs = freesolv
    res = curriculum_train(PropertyModel(ModelConfig(**SMALL)), gs[:100], epochs=2, quiet=True)
    path = res.model.save(tmp_path/'m')
    ft = finetune_model([path, res.model], head='mlp')
    assert len(ft.encoder.parts) == 2 and ft.head[0].in_features == 32
    res2 = curriculum_train(ft, gs[:100], difficulty=np.linspace(0, 1, 100), epochs=1, quiet=True)
    table = error_table(res2.model, gs[100:120])
    assert len(table) == 20 and {'expt', 'expt_pred', 'expt_abs_error'} <= set(table.columns)
    ranked = screen(res2.model, ['CCO', 'xyz', 'c1ccccc1'], objective='min')
    assert ranked.smiles.tolist()[-1] == 'xyz' and ranked.error.iloc[-1] != ''
    with pytest.raises(ValueError, match='unknown target'): screen(res2.model, ['CCO'], target='logP')
    with pytest.raises(ValueError, match='low <= high'): screen(res2.model, ['CCO'], objective=(3, 1))


def test_schedule_trials_fine_tune_the_pretrained_encoder(monkeypatch):
    "fit(encoder_from=..., curriculum=..., tune=N): every schedule trial starts from the pretrained encoder and trains with its fine-tuning recipe, as the final run does (they once trained fresh models, so the schedule was chosen for another model)."
    import molnb.curriculum as C
    from molnb.fit import fit, FREEZE_EPOCHS
    from molnb.pretrain import load_encoder
    name = 'moses100k-descriptors-gin128x4'
    want = next(iter(load_encoder(name).encoder.state_dict().values()))
    seen, real = [], C.curriculum_train
    def spy(model, *a, **kw):
        seen.append((torch.equal(next(iter(model.encoder.state_dict().values())), want), kw['task'].freeze_epochs))
        return real(model, *a, **kw)
    monkeypatch.setattr(C, 'curriculum_train', spy)
    fs = load('freesolv', quiet=True).to_frame().head(150)
    r = fit(fs, smiles_col='smiles', encoder_from=name, curriculum='structure', tune=2, epochs=2, quiet=True)
    assert len(r.plan.trials) == 2 and len(seen) == 2 * 2 + (r.plan.schedule is not None)  # two trials of two seeds (then the run itself, if a curriculum won)
    assert all(same for same, _ in seen), seen  # each trial's encoder is the pretrained one, not a fresh one
    assert {f for _, f in seen} == {min(FREEZE_EPOCHS, 1)}  # the fine-tuning recipe's frozen epochs (at most half the run) in every trial
