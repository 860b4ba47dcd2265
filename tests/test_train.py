"The training engine: resume after a kill, control from another thread, missing labels, soft features, save/load."
import os, signal, subprocess, sys, textwrap, threading, time
from pathlib import Path
import numpy as np, pytest, torch
from molnb.data import load_builtin, from_smiles, random_split
from molnb.featurize import featurize, atom_feature_dims
from molnb.models import PropertyModel, ModelConfig, one_hot_features
from molnb.train import Trainer, TrainControl, train, predict, masked_loss

RUN = textwrap.dedent('''
    import sys, torch
    from molnb.data import load_builtin, random_split
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import Trainer
    ckpt, out, slow = sys.argv[1], sys.argv[2], sys.argv[3] == 'slow'
    ds = load_builtin('freesolv', quiet=True).subset(range(300))
    tr, va, _ = (featurize(d, quiet=True) for d in random_split(ds, seed=0).apply(ds))
    torch.manual_seed(1)
    t = Trainer(PropertyModel(ModelConfig(hidden=32, layers=2, dropout=0.2)), tr, va, epochs=6, seed=5, checkpoint_dir=ckpt, quiet=True)
    if slow:  # give the test time to kill the process after the second checkpoint
        import time; t.on('epoch_end', lambda tr_, info: (print('epoch', tr_.epoch, flush=True), time.sleep(30 if tr_.epoch == 2 else 0)))
    res = t.fit()
    torch.save(res.model.state_dict(), out)
''')


def run_script(tmp_path, ckpt, out, slow=False, **kw):
    script = tmp_path/'run.py'; script.write_text(RUN)
    return subprocess.Popen([sys.executable, str(script), str(ckpt), str(out), 'slow' if slow else 'fast'], stdout=subprocess.PIPE, text=True, **kw)


def test_resume_after_kill_gives_identical_weights(tmp_path):
    p = run_script(tmp_path, tmp_path/'ref_ckpt', tmp_path/'ref.pt'); assert p.wait(timeout=300) == 0
    victim = run_script(tmp_path, tmp_path/'ckpt', tmp_path/'never.pt', slow=True)
    for line in victim.stdout:
        if line.strip() == 'epoch 2': break
    time.sleep(1.0)  # the checkpoint of epoch 2 is written before the epoch_end event
    victim.send_signal(signal.SIGKILL); victim.wait(timeout=30)
    assert (tmp_path/'ckpt'/'last.pt').exists() and not (tmp_path/'never.pt').exists()
    assert torch.load(tmp_path/'ckpt'/'last.pt', weights_only=True)['epoch'] == 2
    p = run_script(tmp_path, tmp_path/'ckpt', tmp_path/'resumed.pt'); assert p.wait(timeout=300) == 0
    ref, res = torch.load(tmp_path/'ref.pt', weights_only=True), torch.load(tmp_path/'resumed.pt', weights_only=True)
    assert ref.keys() == res.keys()
    for k in ref: assert torch.equal(ref[k], res[k]), k


@pytest.fixture(scope='module')
def freesolv_parts():
    ds = load_builtin('freesolv', quiet=True)
    return tuple(featurize(d, cache=False, quiet=True) for d in random_split(ds, seed=0).apply(ds))


def small_model(**kw): torch.manual_seed(0); return PropertyModel(ModelConfig(hidden=32, layers=2, **kw))


def test_pause_resume_stop_from_another_thread(freesolv_parts):
    tr, va, _ = freesolv_parts
    ctl = TrainControl(); steps = []
    t = Trainer(small_model(), tr, va, epochs=200, control=ctl, quiet=True).on('batch_end', lambda tt, i: (steps.append(i['step']), time.sleep(0.01)))
    th = threading.Thread(target=t.fit); th.start()
    while len(steps) < 5: time.sleep(0.01)
    ctl.pause(); time.sleep(0.3); n = len(steps); time.sleep(0.5)
    assert len(steps) == n and ctl.state == 'paused'  # paused: the counter does not move
    ctl.set_lr(5e-4); ctl.resume(); time.sleep(0.5)
    assert len(steps) > n and ctl.state == 'running' and t.current_lr == 5e-4
    ctl.stop(); ctl.stop()  # stopping twice is harmless
    th.join(timeout=60); assert not th.is_alive() and ctl.state == 'stopped'


def test_resume_without_pause_and_stop_while_paused(freesolv_parts):
    tr, _, _ = freesolv_parts
    ctl = TrainControl(); ctl.resume()  # resume without pause: nothing happens
    t = Trainer(small_model(), tr, epochs=100, control=ctl, quiet=True)
    th = threading.Thread(target=t.fit); ctl.pause(); th.start(); time.sleep(0.3)
    assert t.step == 0
    ctl.stop(); th.join(timeout=30)
    assert not th.is_alive() and ctl.state == 'stopped' and t.step == 0


def test_exception_inside_training_resets_state(freesolv_parts):
    tr, _, _ = freesolv_parts
    def boom(model, batch, out): raise RuntimeError('bad loss')
    ctl = TrainControl()
    with pytest.raises(RuntimeError, match='bad loss'): train(small_model(), tr, epochs=2, loss_fn=boom, control=ctl, quiet=True)
    assert ctl.state == 'failed' and not torch.are_deterministic_algorithms_enabled()


def test_missing_labels_are_masked_out_of_training():
    smi = ['CCO', 'CCN', 'CCC', 'CCCl', 'c1ccccc1', 'CCOC', 'CC(=O)O', 'CCCCO'] * 4
    y = np.array([[1.0, np.nan], [2.0, 0.5], [np.nan, 1.5], [3.0, 2.5]] * 8)
    a = featurize(from_smiles(smi, y, targets=['a', 'b'], quiet=True), cache=False, quiet=True)
    b = featurize(from_smiles(smi, y, targets=['a', 'b'], quiet=True), cache=False, quiet=True)
    b._data.y[~b._data.y_mask] = 1e6  # garbage in every masked slot must change nothing
    ra = train(small_model(n_tasks=2), a, epochs=3, quiet=True); rb = train(small_model(n_tasks=2), b, epochs=3, quiet=True)
    for k, v in ra.model.state_dict().items(): assert torch.equal(v, rb.model.state_dict()[k]), k
    assert abs(rb.model.y_mean[1].item() - 1.5) < 1e-6 and abs(rb.model.y_mean[0].item() - 2.0) < 1e-6


def test_soft_features_give_gradients_to_inputs(freesolv_parts):
    from torch_geometric.data import Batch
    tr, _, _ = freesolv_parts
    m = small_model().eval(); b = Batch.from_data_list([tr[i] for i in range(4)])
    soft = one_hot_features(b.x, atom_feature_dims()).requires_grad_(True)
    b2 = b.clone(); b2.x = soft
    out = m(b2).sum(); out.backward()
    assert soft.grad is not None and soft.grad.abs().sum() > 0
    with torch.no_grad(): assert torch.allclose(m(b2), m(b), atol=1e-5)


def test_save_load_roundtrip_and_prediction(freesolv_parts, tmp_path):
    tr, va, te = freesolv_parts
    res = train(small_model(encoder='transformer'), tr, va, epochs=2, quiet=True)
    res.model.save(tmp_path/'m'); m2 = PropertyModel.load(tmp_path/'m')
    p1, p2 = predict(res.model, te), predict(m2, te)
    assert p1.equals(p2) and list(p1.columns) == ['row', 'smiles', 'canonical_smiles', 'expt', 'error']
    assert not (tmp_path/'m'/'model.safetensors').read_bytes().startswith(b'\x80')  # not a pickle


def test_bad_training_arguments(freesolv_parts):
    tr, va, _ = freesolv_parts
    for kw, msg in [(dict(epochs=0), 'epochs must be'), (dict(lr=-1.0), 'lr must be'), (dict(batch_size=0), 'batch_size'),
                    (dict(schedule='warp'), 'schedule must be'), (dict(patience=0), 'patience'),
                    (dict(epochs=True), 'epochs must be a positive integer'), (dict(clip=0.0), 'clip must be a positive'),
                    (dict(clip=float('nan')), 'clip must be'), (dict(warmup=-1), 'warmup must be'), (dict(epochs=3, warmup=4), r'warmup .* to epochs \(3\)'),
                    (dict(weight_decay=-0.1), 'weight_decay must be'), (dict(patience=True), 'patience')]:
        with pytest.raises(ValueError, match=msg): Trainer(small_model(), tr, va, **kw)
    with pytest.raises(ValueError, match='predicts 2 task'): train(small_model(n_tasks=2), tr, epochs=1, quiet=True)
    with pytest.raises(ValueError, match='is for classification'): train(small_model(task='classification'), tr, epochs=1, quiet=True)
    with pytest.raises(TypeError, match='must be a GraphSet'): Trainer(small_model(), [1, 2, 3])
    with pytest.raises(ValueError, match='learning rate'): TrainControl().set_lr(float('nan'))


def test_set_smaller_than_a_batch():
    g = featurize(from_smiles(['CCO', 'CCN', 'CCC'], [1.0, 2.0, 3.0], quiet=True), cache=False, quiet=True)
    res = train(small_model(), g, epochs=2, batch_size=64, quiet=True)
    assert res.status == 'finished' and len(res.history) == 2
