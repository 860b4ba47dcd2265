"""A run of molnb's engine for the distributed tests and benchmarks: `torchrun --nproc_per_node N tests/ddp_run.py OUT [options]`
(or plain `python tests/ddp_run.py OUT` for one process). Writes OUT/history.csv, OUT/weights.pt and OUT/info.json from rank 0."""
import argparse, json, os, sys, time
from pathlib import Path
import torch

ap = argparse.ArgumentParser()
ap.add_argument('out')
ap.add_argument('--data', default='freesolv', help="a built-in set, or a MoleculeNet name read from $MOLNB_DATA")
ap.add_argument('--molecules', type=int, default=400, help='molecules of the set to use (0: all)')
ap.add_argument('--batch-size', type=int, default=32, help='molecules per batch, per process')
ap.add_argument('--epochs', type=int, default=6)
ap.add_argument('--stop-after', type=int, help='stop after this epoch (the checkpoint is kept)')
ap.add_argument('--checkpoint-dir')
ap.add_argument('--encoder', default='gin')
ap.add_argument('--hidden', type=int, default=32)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--task', choices=['property', 'masked', 'supernet'], default='property',
                help='masked: self-supervised masked pretraining (molnb.pretrain) on the molecules without labels; supernet: a molnb.hwsearch super-network by the sandwich rule')
a = ap.parse_args()
torch.set_num_threads(a.threads)
from molnb.data import load, load_moleculenet, random_split
from molnb.featurize import featurize
from molnb.models import PropertyModel, ModelConfig
from molnb.train import Trainer

ds = load(a.data, quiet=True) if a.data in ('freesolv', 'solubility', 'nci_tpsa') else load_moleculenet(a.data, quiet=True)
if a.molecules: ds = ds.subset(range(min(a.molecules, len(ds))))
tr, va, _ = (featurize(d, quiet=True) if len(d) else None for d in random_split(ds, seed=0).apply(ds))
torch.manual_seed(1)
if a.task == 'masked':
    from molnb.data import from_smiles
    from molnb.pretrain import MaskedEncoderDecoder, MaskedTask, PretrainConfig
    tr, va = (featurize(from_smiles(list(g.smiles)), quiet=True) for g in (tr, va))  # the same molecules, unlabelled
    model, task = MaskedEncoderDecoder(PretrainConfig(model=dict(encoder=a.encoder, hidden=a.hidden, layers=2))), MaskedTask()
elif a.task == 'supernet':
    from molnb.hwsearch import SearchSpace, SuperNet, SupernetTask
    model, task = SuperNet(SearchSpace(hidden=[16, a.hidden], layers=[1, 2], pool=['mean', 'max'], head_hidden=[16])), SupernetTask(random=2)
else: model, task = PropertyModel(ModelConfig(encoder=a.encoder, hidden=a.hidden, layers=2)), None
t = Trainer(model, tr, va, task=task, epochs=a.epochs, batch_size=a.batch_size, seed=5, checkpoint_dir=a.checkpoint_dir, quiet=True)
if a.stop_after: t.on('epoch_end', lambda tt, info: tt.control.stop() if tt.epoch == a.stop_after else None)
t0 = time.perf_counter()
res = t.fit()
seconds = time.perf_counter() - t0
if t.rank == 0:
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    res.history.to_csv(out/'history.csv', index=False)
    torch.save(res.model.state_dict(), out/'weights.pt')
    (out/'info.json').write_text(json.dumps(dict(world_size=t.world_size, status=res.status, steps=t.step, seconds=seconds, resumed_from=res.resumed_from,
                                                 molecules_per_s=res.molecules_per_s, n_train=len(tr), valid=res.valid)))
