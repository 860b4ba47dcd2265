"The training engine opened up: bad input to tasks and sources, checkpoints of other runs, torchrun with 2 CPU processes, Ctrl-C in the CLI."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd, pytest, torch
from molnb.data import load_builtin, random_split
from molnb.featurize import featurize
from molnb.models import PropertyModel, ModelConfig
from molnb.train import (Trainer, Task, PropertyTask, BatchSource, GeneratedBatches, MixedBatches, GraphBatches, CheckpointError,
                         train, read_checkpoint, collate)

HERE = Path(__file__).parent


@pytest.fixture(scope='module')
def parts():
    ds = load_builtin('freesolv', quiet=True).subset(range(300))
    return tuple(featurize(d, cache=False, quiet=True) for d in random_split(ds, seed=0).apply(ds))


def small(**kw): torch.manual_seed(0); return PropertyModel(ModelConfig(hidden=16, layers=1, **kw))


class Nothing(BatchSource):
    "A source whose epochs are empty."
    def steps_per_epoch(self, world=1): return 1
    def epoch(self, epoch, trainer, start=0): return iter(())


def test_a_source_that_yields_nothing_is_a_clear_error(parts):
    with pytest.raises(ValueError, match='yielded no batches in epoch 0'): train(small(), Nothing(), epochs=2, task=PlainLoss(), quiet=True)


def test_a_generator_that_makes_an_empty_batch_is_a_clear_error(parts):
    tr = parts[0]
    src = GeneratedBatches(lambda step, g: None, steps=3, name='sampler')  # forgot to return its batch
    with pytest.raises(ValueError, match=r"'sampler' made an empty batch \(or none\) at step 0"): train(small(), src, epochs=1, task=PlainLoss(), quiet=True)


class PlainLoss(Task):
    "The squared output of the model: enough to train anything."
    def step(self, trainer, batch): return trainer.net(batch).pow(2).mean()


def test_generated_batches_train_through_the_engine(parts):
    tr = parts[0]
    src = GeneratedBatches(lambda step, g: collate(tr, torch.randint(len(tr), (8,), generator=g).tolist()), steps=4)
    res = train(small(), src, epochs=3, task=PlainLoss(), quiet=True)
    assert res.status == 'finished' and res.history.step.tolist() == [4, 8, 12]
    assert res.history.loss.iloc[-1] < res.history.loss.iloc[0]


def test_mixed_batches_weight_each_part_by_its_share(parts):
    tr, va, _ = parts
    gen = GeneratedBatches(lambda step, g: collate(tr, torch.randint(len(tr), (16,), generator=g).tolist()), steps=2)
    seen = []
    t = Trainer(small(), MixedBatches({'real': GraphBatches(tr, 48), 'generated': gen}), va, epochs=2, quiet=True)
    t.on('batch_end', lambda tt, info: seen.append(info['terms']))
    res = t.fit()
    assert set(seen[0]) == {'real', 'generated'} and {'loss_real', 'loss_generated'} <= set(res.history.columns)
    assert res.history.step.tolist() == [5, 10]  # the real part (240 molecules / 48) sets the epoch
    assert res.valid['rmse'] == res.valid['rmse']


def test_a_mixed_run_resumes_exactly(parts, tmp_path):
    tr, va, _ = parts
    def run(ckpt, stop=None):
        gen = GeneratedBatches(lambda step, g: collate(tr, torch.randint(len(tr), (16,), generator=g).tolist()), steps=3)
        t = Trainer(small(dropout=0.1), MixedBatches({'real': GraphBatches(tr, 48), 'generated': gen}), va, epochs=4, checkpoint_dir=ckpt, quiet=True)
        if stop: t.on('epoch_end', lambda tt, info: tt.control.stop() if tt.epoch == stop else None)
        return t.fit()
    ref = run(None)
    assert run(tmp_path, stop=1).status == 'stopped'
    res = run(tmp_path)
    assert res.resumed_from == 5
    for k, v in ref.model.state_dict().items(): assert torch.equal(v, res.model.state_dict()[k]), k


def test_optimiser_problems_are_named(parts):
    tr = parts[0]
    class Twice(PropertyTask):
        def optimizers(self, trainer):
            p = list(trainer.model.parameters())
            return {'a': torch.optim.SGD(p, lr=0.1), 'b': torch.optim.SGD(p[:1], lr=0.1)}
    with pytest.raises(ValueError, match="both optimiser 'a' and 'b'"): train(small(), tr, epochs=1, task=Twice(), quiet=True)
    class NotOne(PropertyTask):
        def optimizers(self, trainer): return {'model': 'adam'}
    with pytest.raises(TypeError, match="optimiser 'model' is a str"): train(small(), tr, epochs=1, task=NotOne(), quiet=True)
    class Manual(PropertyTask):
        manual = True
        def step(self, trainer, batch):
            loss = super().step(trainer, batch); trainer.backward(loss); trainer.optimizer_step('generator'); return loss
    with pytest.raises(KeyError, match="no optimiser 'generator'.*\\['model'\\]"): train(small(), tr, epochs=1, task=Manual(), quiet=True)


def test_a_property_task_needs_a_property_model(parts):
    with pytest.raises(TypeError, match='PropertyTask trains a molnb.models.PropertyModel'): Trainer(torch.nn.Linear(2, 2), parts[0])


def test_a_non_finite_loss_names_step_term_and_batch(parts):
    class Bad(PropertyTask):
        def step(self, trainer, batch):
            loss = super().step(trainer, batch)
            return {'fit': loss, 'penalty': loss * float('nan') if trainer.step == 2 else loss * 0}
    with pytest.raises(FloatingPointError, match=r"epoch 0, step 2: \{'penalty': nan\}.*batch of 64 graphs; the batch's first molecules"):
        train(small(), parts[0], epochs=1, task=Bad(), quiet=True)


def test_checkpoints_of_other_runs_are_refused(parts, tmp_path):
    tr, va, _ = parts
    train(small(), tr, va, epochs=2, checkpoint_dir=tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match=r"(?s)belongs to another run.*train: checkpoint 240 graphs.*now 239 graphs.*start fresh"):
        train(small(), tr.subset(range(239)), va, epochs=2, checkpoint_dir=tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match=r"model: checkpoint PropertyModel"):
        train(small(encoder='gcn'), tr, va, epochs=2, checkpoint_dir=tmp_path, quiet=True)
    class Other(PropertyTask): kind = 'masked'
    with pytest.raises(CheckpointError, match="checkpoint of a 'property' task, this run trains a 'masked' task"):
        train(small(), tr, va, epochs=2, checkpoint_dir=tmp_path, task=Other(), quiet=True)
    again = train(small(), tr, va, epochs=2, checkpoint_dir=tmp_path, quiet=True)  # the same run: nothing left to train, and it says so
    assert again.resumed_from == 8 and again.status == 'finished'
    fresh = train(small(), tr, va, epochs=1, checkpoint_dir=tmp_path, resume=False, quiet=True)  # resume=False starts over
    assert fresh.resumed_from is None and read_checkpoint(tmp_path/'last.pt')['epoch'] == 1


def test_old_and_unsafe_checkpoint_files_get_molnb_messages(parts, tmp_path):
    torch.save(dict(model={}, optimizer={}, epoch=1), tmp_path/'last.pt')  # the format of the engine before tasks
    with pytest.raises(CheckpointError, match='earlier molnb engine'): train(small(), parts[0], epochs=1, checkpoint_dir=tmp_path, quiet=True)
    torch.save({'f': os.system}, tmp_path/'last.pt')  # loading this would need code: never done
    with pytest.raises(CheckpointError, match='would need code to load') as e: train(small(), parts[0], epochs=1, checkpoint_dir=tmp_path, quiet=True)
    assert 'posix.system' in str(e.value) and 'weights_only' not in str(e.value)  # molnb's advice, not torch's
    (tmp_path/'last.pt').write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='not a readable checkpoint'): train(small(), parts[0], epochs=1, checkpoint_dir=tmp_path, quiet=True)


def test_stateful_callbacks_are_checkpointed(parts, tmp_path):
    tr = parts[0]
    class Counter:
        def __init__(self): self.n = 0
        def on_batch_end(self, trainer, info): self.n += 1
        def state_dict(self): return dict(n=self.n)
        def load_state_dict(self, st): self.n = st['n']
    def run(stop=None):
        c = Counter(); t = Trainer(small(), tr, epochs=3, callbacks=[c], checkpoint_dir=tmp_path, quiet=True)
        if stop: t.on('epoch_end', lambda tt, info: tt.control.stop() if tt.epoch == stop else None)
        t.fit(); return c.n
    assert run(stop=1) == 4 and run() == 12  # the resumed counter goes on from 4


def test_bf16_autocast_trains(parts):
    res = train(small(), parts[0], epochs=2, precision='bf16', quiet=True)
    assert res.status == 'finished' and res.history.loss.notna().all()
    with pytest.raises(ValueError, match="precision must be '32' or 'bf16'"): Trainer(small(), parts[0], precision='fp8')


# --- torchrun with two CPU processes -------------------------------------------------------------------------------

def torchrun(out, *args, n=2):
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={n}', str(HERE/'ddp_run.py'), str(out), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def plain(out, *args):
    r = subprocess.run([sys.executable, str(HERE/'ddp_run.py'), str(out), *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def test_two_ranks_of_batch_b_follow_one_process_of_batch_2b(tmp_path):
    plain(tmp_path/'one', '--batch-size', '64', '--threads', '2')
    torchrun(tmp_path/'two', '--batch-size', '32')
    one, two = (pd.read_csv(tmp_path/d/'history.csv') for d in ('one', 'two'))
    assert json.loads((tmp_path/'two'/'info.json').read_text())['world_size'] == 2
    assert one.step.tolist() == two.step.tolist()  # the same global batches, so the same steps and schedule
    # per-rank BatchNorm statistics (32 molecules instead of 64) and each rank's dropout are all that differ
    rel = ((one.loss - two.loss).abs() / one.loss).max()
    assert rel < 0.10, f'epoch losses differ by up to {rel:.1%}'
    assert abs(one.valid_rmse.iloc[-1] - two.valid_rmse.iloc[-1]) / one.valid_rmse.iloc[-1] < 0.10


def test_a_two_rank_run_resumes_from_its_checkpoint(tmp_path):
    torchrun(tmp_path/'full')
    torchrun(tmp_path/'part', '--checkpoint-dir', str(tmp_path/'ck'), '--stop-after', '2')
    assert json.loads((tmp_path/'part'/'info.json').read_text())['status'] == 'stopped'
    torchrun(tmp_path/'resumed', '--checkpoint-dir', str(tmp_path/'ck'))
    info = json.loads((tmp_path/'resumed'/'info.json').read_text())
    assert info['resumed_from'] == 10 and info['status'] == 'finished'
    a, b = (torch.load(tmp_path/d/'weights.pt', weights_only=True) for d in ('full', 'resumed'))
    for k in a: assert torch.equal(a[k], b[k]), k
    assert len(read_checkpoint(tmp_path/'ck'/'last.pt')['rng']) == 2  # each process's RNG is kept
    r = subprocess.run([sys.executable, str(HERE/'ddp_run.py'), str(tmp_path/'x'), '--checkpoint-dir', str(tmp_path/'ck')], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and 'world_size: checkpoint 2, now 1' in r.stderr  # one process cannot take over a two-process run


def test_masked_pretraining_runs_on_two_ranks(tmp_path):
    "molnb.pretrain's task under torchrun: steps that leave a head without gradient (self-supervised) do not stall DistributedDataParallel."
    torchrun(tmp_path/'two', '--task', 'masked', '--epochs', '3')
    info = json.loads((tmp_path/'two'/'info.json').read_text())
    h = pd.read_csv(tmp_path/'two'/'history.csv')
    assert info['world_size'] == 2 and info['status'] == 'finished' and 0 <= info['valid']['accuracy'] <= 1
    assert h.loss_reconstruction.notna().all() and h.loss.iloc[-1] < h.loss.iloc[0]


def test_more_processes_than_molecules_is_a_clear_error(tmp_path):
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=3', str(HERE/'ddp_run.py'), str(tmp_path), '--molecules', '2']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode != 0 and "torchrun started 3 processes but the training set has 2 molecule(s): use at most 2 processes" in r.stderr


# --- the command line keeps work ------------------------------------------------------------------------------------

def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path):
    ck, out = tmp_path/'ck', tmp_path/'run'
    cmd = ['molnb', 'train', '--data', 'freesolv', '--epochs', '40', '--hidden', '16', '--layers', '1', '--quiet', '--out', str(out), '--checkpoint-dir', str(ck)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (ck/'last.pt').exists() and time.time() - t0 < 120: time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    assert 'Traceback' not in stderr and 'checkpoint saved to' in stderr and '--resume' in stderr, stderr
    assert not (out/'metrics.json').exists()  # an interrupted run writes no results
    epoch = read_checkpoint(ck/'last.pt')['epoch']
    assert 1 <= epoch < 40
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'already holds a checkpoint: pass --resume' in r.stderr
    r = subprocess.run(cmd + ['--lr', '0.01', '--resume'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'belongs to another run' in r.stderr and 'lr: checkpoint 0.001, now 0.01' in r.stderr
    r = subprocess.run(cmd + ['--resume'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert 'resumed from' in r.stdout and json.loads((out/'metrics.json').read_text())['epochs_run'] == 40


def test_resume_without_a_checkpoint_is_a_usage_error(tmp_path):
    r = subprocess.run(['molnb', 'train', '--data', 'freesolv', '--epochs', '1', '--resume'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and '--resume needs --checkpoint-dir' in r.stderr
    r = subprocess.run(['molnb', 'train', '--data', 'freesolv', '--epochs', '1', '--resume', '--checkpoint-dir', str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and 'nothing to resume' in r.stderr


def test_supernet_trains_on_two_ranks(tmp_path):
    "molnb.hwsearch's sandwich rule under torchrun: several structures per step in one DDP forward (drawn from the seed and the step, so alike on every rank)."
    torchrun(tmp_path/'two', '--task', 'supernet', '--epochs', '3')
    info = json.loads((tmp_path/'two'/'info.json').read_text())
    h = pd.read_csv(tmp_path/'two'/'history.csv')
    assert info['world_size'] == 2 and info['status'] == 'finished'
    assert h[['loss_largest', 'loss_smallest', 'loss_random']].notna().all().all() and h.loss.iloc[-1] < h.loss.iloc[0]
