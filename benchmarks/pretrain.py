#!/usr/bin/env python
"""Pretraining benchmark: masked pretraining (molnb.pretrain) against no pretraining, the contrastive baseline and ECFP4
fingerprints with a random forest; the supervised mask/re-mask method against plain training; throughput and memory.

    python benchmarks/pretrain.py                      # full mode (hours on 2 cores: runs are cached, run it again to go on)
    python benchmarks/pretrain.py --quick              # a smoke test: a tiny corpus, bbbp (transfer), esol and bbbp (supervised), two seeds, a few epochs
    python benchmarks/pretrain.py --stages transfer    # only some stages: transfer, supervised, scale (throughput, memory), shipped
    python benchmarks/pretrain.py --report             # write the report from the runs cached so far, training nothing

Protocol.
- Corpus: a seeded sample of the MOSES training set (`molnb.data.load_moses`; 250,000 molecules in full mode, the
  issue's minimum and what two cores pretrain in minutes per epoch), minus every molecule (canonical SMILES) of the
  downstream test splits of all eight sets used below; how many were removed is reported.
- Encoder: molnb's GIN, hidden 128, 4 layers, mean pooling, for every row (smaller than Hu et al.'s 300 x 5, so that
  the full mode fits these CPUs). Masked pretraining: `MaskedTask` (reconstruction of the masked atoms' features,
  cross-entropy) for each masking strategy at ratio 0.25; the contrastive baseline: `ContrastiveTask` on `SimilarPairs`
  (ECFP4 positives from a pool of 4,096), the same epochs over the same corpus. 3-D: the graph transformer with
  distances, on ETKDG conformers of a 50,000-molecule part of the corpus (embedding 250,000 is hours here), with
  coordinate denoising, against the same 3-D transformer without pretraining; both 3-D rows (and the 3-D pretraining)
  draw batches of like-sized molecules (`molnb.train.size_bucketed_batches`, pools of 50 batches), since the dense
  transformer pads each batch to its largest molecule (SIDER's run to 295 atoms).
- Transfer: bbbp, bace, clintox, sider, tox21, Hu et al.'s deterministic scaffold split (80/10/10, largest scaffolds
  first into training); the pretrained encoder under a fresh linear head (`molnb.models.finetune_model`), every
  weight fine-tuned, the same recipe for every row (AdamW lr 1e-3, batch 64, cosine schedule, up to 40 epochs, early
  stopping after 10 without validation gain, the best validation epoch's weights); test ROC-AUC averaged over the
  set's tasks. "No pretraining" is the same path from randomly initialised weights. ECFP4 + random forest:
  scikit-learn's RandomForestClassifier (500 trees, otherwise its defaults), one per task.
- Supervised: esol, freesolv, lipo (random 80/10/10, seed 0) and bbbp, bace (scaffold) trained by the method of steps
  1-7 (`MaskedTask(RandomMask(0.25), reconstruct=0, property=1)`: masked, encoded, re-masked, decoded, predicted) and by
  plain supervised training of the same encoder, same recipe.
- Seeds: 5 in full mode, paired (seed s of every row shares the split and the fine-tuning seed); seed-bootstrap 95 %
  intervals of paired differences, as `benchmarks/curriculum.py` reports them.
- Shipped (issue 38): the encoder molnb ships (`--encoder`, default the one shipped now) fine-tuned as
  `fit(encoder_from=NAME)` does it (an MLP head; the head alone for the first `molnb.fit.FREEZE_EPOCHS` epochs, at most
  half the run), against the same architecture untrained with the same head, ECFP4 + random forest (a regressor for
  regression sets) and chemprop 2.3.1 at its defaults (`--chemprop-python` or `$MOLNB_CHEMPROP_PYTHON`; its CLI's
  parser, model and checkpointing, through `benchmarks/property.py`'s child, scored by molnb's metric code), on the five
  classification sets (Hu et al.'s split) and esol, freesolv, lipo (random 80/10/10, seed 0), the benchmark's recipe and
  seeds; the transfer stage's 250,000-molecule contrastive row beside them. Also the wheel's size with the weights and
  the seconds `load_encoder(NAME)` takes in a fresh interpreter.
- Scale: pretraining molecules/s in one process (2 threads) and in 2 DDP ranks (1 thread each) on on-disk shards
  (`write_shards`, `ShardBatches`), and the peak memory of sharding and pretraining on 1,000,000 molecules against
  100,000 (fresh processes).

Full-mode runs are kept in `benchmarks/runs/pretrain-full-<settings>.jsonl` (committed) and the pretrained encoders in
`$MOLNB_CACHE/bench/pretrain-<mode>-<settings>/`, so the full mode is built up over several sittings; the report says which rows are complete. MoleculeNet CSVs come from
`$MOLNB_DATA` (default `../shared/data/moleculenet`), MOSES from beside it.
"""
from common import RunLog, command_line, log, machine_info, md_table, peak_rss_mb, settle_memory, target, targets_table, write_results
import argparse, datetime, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

NAME = 'pretrain'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
ENCODER = dict(encoder='gin', hidden=128, layers=4)
ENCODER_3D = dict(encoder='transformer', hidden=64, layers=3, heads=4, geometry='3d')
TRANSFER = ['bbbp', 'bace', 'clintox', 'sider', 'tox21']
SUPERVISED = {'esol': 'random', 'freesolv': 'random', 'lipo': 'random', 'bbbp': 'scaffold', 'bace': 'scaffold'}
MODES = {
    'full': dict(corpus=250_000, corpus_3d=50_000, pretrain_epochs=5, epochs=40, patience=10, seeds=[0, 1, 2, 3, 4],
                 transfer=TRANSFER, supervised=list(SUPERVISED), shards=(100_000, 1_000_000), rate_molecules=20_000, trees=500, sample=None),
    'quick': dict(corpus=2_000, corpus_3d=200, pretrain_epochs=1, epochs=3, patience=None, seeds=[0, 1],
                  transfer=['bbbp'], supervised=['esol', 'bbbp'], shards=(2_000, 8_000), rate_molecules=1_000, trees=50, sample=500),
}
# pretraining variants: how the encoder was pretrained (None: not at all); 3-D rows use the 3-D transformer
PRETRAINED = {'masked (random)': 'random', 'masked (variable ratio)': 'variable', 'masked (group)': 'group',
              'masked (leaf/chain)': 'leaf_chain', 'contrastive': 'contrastive', 'masked 3-D (random + coordinates)': '3d'}
ROWS = ['no pretraining', 'masked (random)', 'ECFP4 + random forest', 'masked (variable ratio)', 'masked (group)',
        'masked (leaf/chain)', 'contrastive', 'no pretraining (3-D)', 'masked 3-D (random + coordinates)']  # in the order they run
MASKED = [r for r in ROWS if r.startswith('masked (')]
BASELINE, BASELINE_3D = 'no pretraining', 'no pretraining (3-D)'
RATIO, BATCH, PRETRAIN_BATCH, LR = 0.25, 64, 256, 1e-3
BOOTSTRAP = 2000
# the targets
MIN_GAIN, ECFP_SETS = 3.0, 3  # ROC-AUC points over no pretraining (five-set average); sets where the best masked row >= ECFP4 + RF
ANCHORS = {'GraphMAE': dict(bbbp=72.0, bace=83.1, clintox=82.3, sider=60.3, tox21=75.5),
           'no pretraining (Hu et al. 2020, as GraphMAE reports it)': dict(bbbp=65.8, bace=70.1, clintox=58.0, sider=57.3, tox21=74.0)}


# ---------------------------------------------------------------- the cache
class Cache:
    """Runs (one JSON line each, keyed by stage/row/set/seed) and pretrained encoders of one mode and its settings. The
    full mode's runs are kept in the repository (`benchmarks/runs/`, see `common.RunLog`), so they outlive the machine;
    encoders and the featurized corpus stay in `$MOLNB_CACHE` (a new machine pretrains a variant again)."""
    def __init__(self, mode:str):
        from molnb.core import cache_dir
        s = MODES[mode]
        name = f"pretrain-{mode}-c{s['corpus']}-p{s['pretrain_epochs']}-e{s['epochs']}-h{ENCODER['hidden']}x{ENCODER['layers']}"
        self.dir = cache_dir()/'bench'/name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = RunLog(name) if mode == 'full' else RunLog('runs', self.dir)
    def runs(self) -> dict: return dict(self.log.runs)
    def add(self, r:dict): self.log.add(r)
    def encoder(self, variant:str) -> Path: return self.dir/'encoders'/variant


def key(*parts) -> str: return '/'.join(map(str, parts))


# ---------------------------------------------------------------- data
def hu_scaffold_split(ds):
    """Hu et al. 2020's deterministic scaffold split (their `splitters.scaffold_split`): Murcko scaffolds with chirality,
    scaffold sets sorted by size and then by first position, both descending, filling train, then validation, then test."""
    from rdkit import rdBase
    from rdkit.Chem.Scaffolds import MurckoScaffold
    from molnb.data import Split, _fingerprint
    groups = {}
    with rdBase.BlockLogs():
        for i, s in enumerate(ds.smiles): groups.setdefault(MurckoScaffold.MurckoScaffoldSmiles(smiles=s, includeChirality=True), []).append(i)
    n, parts = len(ds), ([], [], [])
    for g in sorted(groups.values(), key=lambda g: (len(g), g[0]), reverse=True):
        k = 0 if len(parts[0]) + len(g) <= 0.8 * n else 1 if len(parts[0]) + len(parts[1]) + len(g) <= 0.9 * n else 2
        parts[k].extend(g)
    return Split(*parts, 'scaffold (Hu et al. 2020)', None, _fingerprint(ds.smiles))


def splits(name:str, method:str, sample:int|None=None):
    "(train, valid, test) MolDatasets of a MoleculeNet set (or a seeded sample of it): Hu et al.'s scaffold split or random (seed 0), 80/10/10."
    import numpy as np
    from molnb.data import load_moleculenet, random_split
    ds = load_moleculenet(name, quiet=True)
    if sample and sample < len(ds): ds = ds.subset(np.sort(np.random.default_rng(0).choice(len(ds), sample, replace=False)))
    return (hu_scaffold_split(ds) if method == 'scaffold' else random_split(ds, seed=0)).apply(ds)


def downstream_tests(sets:list, sample:int|None=None) -> list:
    "Canonical SMILES of every downstream test split (left out of the pretraining corpus)."
    return sorted({s for name in sets for s in splits(name, SUPERVISED.get(name, 'scaffold'), sample)[2].smiles})


def corpus(mode:str, cache:Cache) -> tuple:
    "The pretraining corpus (train, valid GraphSets) and what was left out, cached by featurize."
    from molnb.data import load_moses, random_split
    from molnb.featurize import featurize
    s = MODES[mode]
    gone = downstream_tests(sorted(set(s['transfer']) | set(s['supervised'])), s['sample'])
    ds = load_moses(s['corpus'], seed=0, exclude=gone, quiet=True)
    tr, va, _ = random_split(ds, sizes=(0.98, 0.02, 0.0), seed=0).apply(ds)
    info = dict(sampled=s['corpus'], kept=len(ds), left_out_test_molecules=s['corpus'] - len(ds) - len(ds.rejected),
                rejected=len(ds.rejected), downstream_test_molecules=len(gone), train=len(tr), valid=len(va))
    if 'corpus' not in cache.log.runs: cache.add(dict(info, key='corpus', stage='corpus'))
    return featurize(tr, quiet=True), featurize(va, quiet=True), info


# ---------------------------------------------------------------- pretraining
def pretrain(variant:str, mode:str, cache:Cache, data) -> dict:
    "Pretrain one variant on the corpus (or load it): the encoder folder and the run's record."
    import torch
    from molnb.models import PropertyModel
    from molnb.pretrain import (ContrastiveConfig, ContrastiveModel, ContrastiveTask, MaskedEncoderDecoder, MaskedTask,
                                PretrainConfig, SimilarPairs, make_masker)
    from molnb.train import Trainer, atom_counts, size_bucketed_batches
    folder = cache.encoder(variant)
    if (folder/'record.json').exists():  # pretrained before: keep its record beside the runs (a run log from elsewhere may lack it)
        rec = json.loads((folder/'record.json').read_text())
        if f'pretraining/{variant}' not in cache.log.runs: cache.add(dict(rec, key=f'pretraining/{variant}', stage='pretraining'))
        return rec
    s, (tr, va) = MODES[mode], data()
    torch.manual_seed(0)
    if variant == 'contrastive':
        model, source, task = ContrastiveModel(ContrastiveConfig(model=ENCODER)), SimilarPairs(tr, PRETRAIN_BATCH // 2, seed=0), ContrastiveTask()
    else:
        enc = ENCODER_3D if variant == '3d' else ENCODER
        model, source = MaskedEncoderDecoder(PretrainConfig(model=enc)), tr
        task = MaskedTask(make_masker('random' if variant == '3d' else variant, RATIO), seed=0)
    settle_memory(); base = peak_rss_mb()
    log(f"pretraining {variant} on {len(tr):,} molecules, {s['pretrain_epochs']} epochs")
    sampler = size_bucketed_batches(PRETRAIN_BATCH, atom_counts(tr)) if variant == '3d' else None
    res = Trainer(model, source, va, task=task, epochs=s['pretrain_epochs'], batch_size=PRETRAIN_BATCH, lr=LR, seed=0, sampler=sampler,
                  checkpoint_dir=folder/'checkpoint', quiet=not sys.stderr.isatty()).fit()
    model.property_model().save(folder)
    # seconds: the epochs' training time from the history, which a resumed run carries over from before the interruption
    # (res.seconds is this process's wall time only); peak memory is this process's, so it is marked when resumed
    rec = dict(variant=variant, molecules=len(tr), epochs=len(res.history), seconds=round(float(res.history['seconds'].sum()), 1),
               wall_seconds=round(res.seconds, 1), resumed_from=res.resumed_from,
               molecules_per_s=round(res.molecules_per_s, 1), peak_rss_growth_mb=round(peak_rss_mb() - base, 1),
               valid={k: round(v, 4) for k, v in res.valid.items() if '[' not in k}, fallbacks=getattr(getattr(task, 'masker', None), 'fallbacks', None))
    (folder/'record.json').write_text(json.dumps(rec, indent=1))
    cache.add(dict(rec, key=f'pretraining/{variant}', stage='pretraining'))
    return rec


def corpus_3d(mode:str, data) -> tuple:
    "A part of the corpus with ETKDG conformers (cached by featurize): the 3-D rows pretrain on it."
    from molnb.data import from_smiles
    from molnb.featurize import featurize
    tr, va = data()
    n = MODES[mode]['corpus_3d']
    return tuple(featurize(from_smiles(list(g.smiles[:m]), name=f'corpus-3d-{m}', quiet=True), conformers=True, quiet=True)
                 for g, m in ((tr, n), (va, max(50, n // 50))))


# ---------------------------------------------------------------- fine-tuning and the fingerprint floor
def finetune(name:str, row:str, seed:int, mode:str, cache:Cache, parts) -> dict:
    "One row on one set and seed: fine-tune the (pretrained or fresh) encoder; test ROC-AUC."
    import torch
    from molnb.models import ModelConfig, PropertyModel, finetune_model
    from molnb.train import Trainer, atom_counts, size_bucketed_batches
    s = MODES[mode]
    tr, va, te = parts
    torch.manual_seed(seed)
    sampler = size_bucketed_batches(BATCH, atom_counts(tr)) if '3-D' in row else None  # the dense 3-D transformer pads to a batch's largest molecule
    if row in (BASELINE, BASELINE_3D): enc = PropertyModel(ModelConfig(**(ENCODER_3D if row == BASELINE_3D else ENCODER)))
    else: enc = PropertyModel.load(cache.encoder(PRETRAINED[row]))
    model = finetune_model(enc, n_tasks=len(tr.targets), task=tr.task)
    res = Trainer(model, tr, va, te, epochs=s['epochs'], patience=s['patience'], batch_size=BATCH, lr=LR, seed=seed, sampler=sampler, quiet=True).fit()
    return dict(test=res.test['roc_auc'], valid=res.valid['roc_auc'], epochs_run=len(res.history), seconds=round(res.seconds, 1))


def ecfp_forest(name:str, seed:int, mode:str, parts) -> dict:
    "ECFP4 (2048 bits) + scikit-learn random forest, one per task (a regressor for a regression set); the set's metric as molnb computes it."
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from molnb.featurize import ecfp
    from molnb.train import metrics
    t0 = time.perf_counter()
    (tr, va, te), trees = parts, MODES[mode]['trees']
    x = {k: ecfp(d.smiles) for k, d in (('tr', tr), ('va', va), ('te', te))}
    y = {k: np.asarray(d.y, dtype=np.float64) for k, d in (('tr', tr), ('va', va), ('te', te))}  # GraphSets (the molecules the networks see) or MolDatasets
    pv, pt = np.full(y['va'].shape, np.nan), np.full(y['te'].shape, np.nan)
    task, metric = tr.task, tr.metric
    for j in range(y['tr'].shape[1]):
        m = ~np.isnan(y['tr'][:, j])
        if len(np.unique(y['tr'][m, j])) < 2: continue
        if task == 'regression':
            rf = RandomForestRegressor(n_estimators=trees, n_jobs=-1, random_state=seed).fit(x['tr'][m], y['tr'][m, j])
            pv[:, j], pt[:, j] = rf.predict(x['va']), rf.predict(x['te'])
        else:
            rf = RandomForestClassifier(n_estimators=trees, n_jobs=-1, random_state=seed).fit(x['tr'][m], y['tr'][m, j])
            pv[:, j], pt[:, j] = rf.predict_proba(x['va'])[:, 1], rf.predict_proba(x['te'])[:, 1]
    score = lambda k, p: metrics(np.where(np.isnan(p), np.nan, y[k]), np.nan_to_num(p), task)[metric]
    return dict(metric=metric, test=score('te', pt), valid=score('va', pv), seconds=round(time.perf_counter() - t0, 1))


# ---------------------------------------------------------------- shipped: the encoder molnb ships, fine-tuned as a user gets it
DEFAULT_SHIPPED = 'moses100k-descriptors-gin128x4'  # the encoder molnb ships now
SHIPPED_SETS = {'full': TRANSFER + ['esol', 'freesolv', 'lipo'], 'quick': ['bbbp', 'esol']}
SPLIT_OF = {**{n: 'scaffold' for n in TRANSFER}, 'esol': 'random', 'freesolv': 'random', 'lipo': 'random'}
SHIPPED_BASELINE, FOREST, CHEMPROP = 'no pretraining (MLP head)', 'ECFP4 + random forest', 'chemprop D-MPNN (its defaults)'
CHEMPROP_EPOCHS = {'full': 50, 'quick': 3}  # 50: chemprop's default
LOAD_TARGET_S, LOAD_REPEATS = 1.0, 5


def shipped_row(encoder:str) -> str: return f'shipped: {encoder}'


def shipped_finetune(name:str, row:str, seed:int, mode:str, encoder:str, parts) -> dict:
    "The shipped encoder fine-tuned as `fit(encoder_from=NAME)` does it (MLP head; the head alone for its first epochs), or the same architecture untrained (no frozen epochs); the benchmark's recipe otherwise."
    import torch
    from molnb.fit import FREEZE_EPOCHS
    from molnb.models import ModelConfig, PropertyModel, finetune_model
    from molnb.pretrain import load_encoder
    from molnb.train import Trainer, PropertyTask
    s, (tr, va, te) = MODES[mode], parts
    enc = load_encoder(encoder)
    torch.manual_seed(seed)
    pretrained = row != SHIPPED_BASELINE
    if not pretrained: enc = PropertyModel(ModelConfig(encoder=enc.cfg.encoder, hidden=enc.cfg.hidden, layers=enc.cfg.layers))
    model = finetune_model(enc, n_tasks=len(tr.targets), task=tr.task, head='mlp')
    freeze = min(FREEZE_EPOCHS, s['epochs'] // 2) if pretrained else 0
    res = Trainer(model, tr, va, te, epochs=s['epochs'], patience=s['patience'], batch_size=BATCH, lr=LR, seed=seed, quiet=True, task=PropertyTask(freeze_epochs=freeze)).fit()
    m = tr.metric
    return dict(metric=m, test=res.test[m], valid=res.valid[m], freeze_epochs=freeze, epochs_run=len(res.history), seconds=round(res.seconds, 1))


def shipped_chemprop(name:str, seed:int, mode:str, python:str, raw) -> dict:
    "chemprop 2.3.1 at its defaults on the same split (`benchmarks/property.py`'s child: its CLI's parser, model and checkpointing), scored by molnb's metric code."
    from property import checked_run, write_split
    parts = dict(zip(('train', 'valid', 'test'), raw))
    with tempfile.TemporaryDirectory(prefix=f'molnb-bench-{name}-') as folder:
        write_split(Path(folder), parts, raw[0].targets)
        spec = dict(model='chemprop D-MPNN', library='chemprop', set=name, seed=seed, epochs=CHEMPROP_EPOCHS[mode], folder=folder, task=raw[0].task, config={})
        r = checked_run(spec, python, parts, raw[0])
    return dict(metric=raw[0].metric, test=r['test'], valid=r['valid'], epochs_run=r['epochs_run'], best_epoch=r['best_epoch'], seconds=round(r['fit_s'], 1),
                versions=r['versions'])


def footprint(encoder:str) -> dict:
    "The wheel's size with the shipped weights, the encoder's files, and the seconds `load_encoder(NAME)` takes in a fresh interpreter (after `import molnb.pretrain`), the median of a few."
    from molnb.models import SHIPPED
    folder = Path(SHIPPED)/encoder
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', str(REPO), '-w', d], check=True, capture_output=True, timeout=600)
        wheel = next(Path(d).glob('molnb-*.whl'))
        wheel_mb = wheel.stat().st_size / 2 ** 20
    code = f"import time, molnb.pretrain as P; t = time.perf_counter(); P.load_encoder({encoder!r}); print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True, timeout=300).stdout.split()[-1]) for _ in range(LOAD_REPEATS)]
    return dict(wheel_mb=round(wheel_mb, 2), weights_mb=round(sum(f.stat().st_size for f in folder.iterdir()) / 2 ** 20, 2),
                load_s=statistics.median(times), load_all_s=[round(t, 3) for t in times])


def shipped_summary(runs:dict, mode:str, encoder:str) -> dict:
    "The shipped stage's table, gains and targets (issue 38): against no pretraining, ECFP4 + random forest and chemprop; and the footprint."
    s, sets, row = MODES[mode], SHIPPED_SETS[mode], shipped_row(encoder)
    rs = [r for r in runs.values() if r['stage'] == 'shipped' and r['row'] in (row, SHIPPED_BASELINE, FOREST, CHEMPROP)]
    best250 = [dict(r, stage='shipped', row='contrastive (250k, transfer stage)') for r in runs.values() if r['stage'] == 'transfer' and r['row'] == 'contrastive']
    rows = [row, SHIPPED_BASELINE, 'contrastive (250k, transfer stage)', FOREST, CHEMPROP]
    cells, complete = table(rs + best250, sets, rows, s['seeds'])
    cls, reg = [n for n in sets if SPLIT_OF[n] == 'scaffold'], [n for n in sets if SPLIT_OF[n] == 'random']
    gain = paired(rs, row, SHIPPED_BASELINE, cls, s['seeds']) if cls else None
    better = lambda a, b, n: cells[a, n][0] > cells[b, n][0] if SPLIT_OF[n] == 'scaffold' else cells[a, n][0] < cells[b, n][0]
    have = lambda r, ns: all(cells[r, n][2] == len(s['seeds']) for n in ns)
    ts = [target(f'shipped encoder: mean ROC-AUC gain over no pretraining on {len(cls)} classification sets, points', None if gain is None else 100 * gain['mean'], '>=', MIN_GAIN,
                 note='' if gain is None else f"95 % interval {100 * gain['interval'][0]:+.2f} to {100 * gain['interval'][1]:+.2f}"),
          target('shipped encoder: lower end of that interval, points', None if gain is None else 100 * gain['interval'][0], '>', 0.0),
          target('classification sets where the shipped encoder is ahead of ECFP4 + random forest', float(sum(better(row, FOREST, n) for n in cls)) if have(row, cls) and have(FOREST, cls) else None, '>=', 4 if mode == 'full' else 1),
          target('regression sets where the shipped encoder has a lower RMSE than no pretraining', float(sum(better(row, SHIPPED_BASELINE, n) for n in reg)) if have(row, reg) and have(SHIPPED_BASELINE, reg) else None, '>=', len(reg)),
          target('sets where the shipped encoder is ahead of chemprop (by the mean)', float(sum(better(row, CHEMPROP, n) for n in sets)) if have(row, sets) and have(CHEMPROP, sets) else None, '>=', 6 if mode == 'full' else 1,
                 '' if have(CHEMPROP, sets) else 'chemprop runs missing (--chemprop-python)')]
    fp = runs.get(f'shipped/footprint/{encoder}')
    if fp: ts += [target('seconds to load the shipped encoder by name (fresh interpreter, median)', fp['load_s'], '<=', LOAD_TARGET_S), target('wheel size with the weights, MB', fp['wheel_mb'], '<=', 20.0)]
    return dict(encoder=encoder, rows=rows, sets=sets, cells={f'{k[0]}|{k[1]}': v for k, v in cells.items()}, complete=complete,
                gain=None if gain is None else dict(mean=100 * gain['mean'], interval=[100 * x for x in gain['interval']]), footprint=fp, targets=ts)


def supervised(name:str, row:str, seed:int, mode:str, parts) -> dict:
    "Plain supervised training, or the method of steps 1-7, of the same encoder on one labelled set."
    import torch
    from molnb.models import ModelConfig, PropertyModel
    from molnb.pretrain import MaskedEncoderDecoder, MaskedTask, PretrainConfig, RandomMask
    from molnb.train import Trainer
    s, (tr, va, te) = MODES[mode], parts
    cfg = dict(ENCODER, n_tasks=len(tr.targets), task=tr.task, targets=list(tr.targets))
    torch.manual_seed(seed)
    if row == 'plain': model, task = PropertyModel(ModelConfig(**cfg)), None
    else: model, task = MaskedEncoderDecoder(PretrainConfig(model=cfg)), MaskedTask(RandomMask(RATIO), reconstruct=0, property=1, seed=seed)
    res = Trainer(model, tr, va, te, task=task, epochs=s['epochs'], patience=s['patience'], batch_size=BATCH, lr=LR, seed=seed, quiet=True).fit()
    metric = tr.metric
    return dict(test=res.test[metric], valid=res.valid[metric], metric=metric, epochs_run=len(res.history), seconds=round(res.seconds, 1))


# ---------------------------------------------------------------- scale: throughput and memory (fresh processes)
def child(args):
    "In a fresh process (or a torchrun rank): 'rate FOLDER' pretrains one epoch on shards; 'memory N FOLDER' shards N MOSES molecules and pretrains an epoch on them."
    import torch
    from molnb.featurize import write_shards
    from molnb.pretrain import MaskedEncoderDecoder, MaskedTask, PretrainConfig
    from molnb.train import ShardBatches, Trainer
    what, rest = args.child[0], args.child[1:]
    rank, world = int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))
    torch.set_num_threads(max(1, 2 // world))
    settle_memory(); base = peak_rss_mb()
    t0 = time.perf_counter()
    if what == 'memory': shards = write_shards('moses', rest[1], n=int(rest[0]), quiet=True); enc = dict(encoder='gin', hidden=32, layers=2)
    else: shards, enc = rest[0], ENCODER
    written, sharding_mb = time.perf_counter() - t0, peak_rss_mb() - base
    torch.manual_seed(0)
    res = Trainer(MaskedEncoderDecoder(PretrainConfig(model=enc)), ShardBatches(shards, PRETRAIN_BATCH // world), task=MaskedTask(seed=0),
                  epochs=1, lr=LR, seed=0, quiet=True).fit()
    out = dict(rank=rank, world=world, molecules_per_s=res.molecules_per_s,  # summed over the ranks by the engine
               seconds=res.seconds, shard_seconds=written, sharding_growth_mb=sharding_mb,
               baseline_mb=base, peak_growth_mb=peak_rss_mb() - base)
    if rank == 0: print(json.dumps(out))


def run_child(cmd:list, env=None) -> dict:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=7200)
    if p.returncode: raise RuntimeError(f"{' '.join(cmd[:6])}... failed:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def scale(mode:str, cache:Cache) -> dict:
    "Pretraining throughput, 1 process against 2 DDP ranks (alternating, 3 rounds), and peak memory at the two corpus sizes."
    from molnb.featurize import write_shards
    s, me = MODES[mode], [sys.executable, str(Path(__file__).resolve())]
    folder = cache.dir/'rate-shards'
    if not (folder/'shards.json').exists(): write_shards('moses', folder, n=s['rate_molecules'], shard_size=5_000, quiet=True)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    runs = {'1 process x 2 threads': me + ['--child', 'rate', str(folder)],
            '2 DDP ranks x 1 thread': [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', *me[1:], '--child', 'rate', str(folder)]}
    rates = {k: [] for k in runs}
    for r in range(3 if mode == 'full' else 1):
        for label in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            rates[label].append(run_child(runs[label], env if label.startswith('2') else None)['molecules_per_s'])
            log(f"scale round {r}: {label} {rates[label][-1]:.0f} molecules/s")
    memory = {}
    for n in s['shards']:
        with tempfile.TemporaryDirectory() as d:
            memory[n] = run_child(me + ['--child', 'memory', str(n), d])
            log(f"memory: {n:,} molecules, peak growth {memory[n]['peak_growth_mb']:.0f} MB")
    return dict(rates=rates, medians={k: statistics.median(v) for k, v in rates.items()}, memory={str(k): v for k, v in memory.items()})


# ---------------------------------------------------------------- summaries
def mean_std(xs:list) -> tuple:
    xs = [x for x in xs if x == x]
    if not xs: return float('nan'), float('nan')
    return statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0


def paired(runs:list, a:str, b:str, sets:list, seeds:list, n:int=BOOTSTRAP, sign:float=1.0):
    "Mean over sets of row a minus row b (paired by seed), and its seed-bootstrap 95 % interval; None unless every set has both rows for >= 2 seeds."
    import numpy as np
    rng, diffs = np.random.default_rng(0), []
    for name in sets:
        va = {r['seed']: r['test'] for r in runs if r['set'] == name and r['row'] == a}
        vb = {r['seed']: r['test'] for r in runs if r['set'] == name and r['row'] == b}
        common = [k for k in seeds if k in va and k in vb]
        if len(common) < 2: return None
        d = sign * (np.array([va[k] for k in common]) - np.array([vb[k] for k in common]))
        diffs.append(d[rng.integers(0, len(d), (n, len(d)))].mean(1))
        diffs[-1] = (diffs[-1], float(d.mean()))
    boot = np.mean([x for x, _ in diffs], axis=0)
    return dict(mean=float(np.mean([m for _, m in diffs])), interval=[float(x) for x in np.percentile(boot, [2.5, 97.5])])


def table(runs:list, sets:list, rows:list, seeds:list, scale_:float=1.0) -> tuple:
    "Per row and set: test mean ± std (and how many seeds are in)."
    cells, complete = {}, {}
    for row in rows:
        for name in sets:
            xs = [r['test'] * scale_ for r in runs if r['row'] == row and r['set'] == name]
            cells[row, name] = (*mean_std(xs), len(xs))
        complete[row] = all(cells[row, n][2] == len(seeds) for n in sets)
    return cells, complete


def summarise(runs:dict, mode:str, corpus_info:dict|None, records:dict, scale_:dict|None) -> dict:
    s = MODES[mode]
    transfer = [r for r in runs.values() if r['stage'] == 'transfer']
    sup = [r for r in runs.values() if r['stage'] == 'supervised']
    cells, complete = table(transfer, s['transfer'], ROWS, s['seeds'], 100)
    avg = {row: statistics.mean(cells[row, n][0] for n in s['transfer']) if complete[row] else None for row in ROWS}
    gains = {row: paired(transfer, row, BASELINE_3D if '3-D' in row else BASELINE, s['transfer'], s['seeds']) for row in ROWS if row not in (BASELINE, BASELINE_3D)}
    gains = {k: None if v is None else dict(mean=v['mean'] * 100, interval=[x * 100 for x in v['interval']]) for k, v in gains.items()}
    done_masked = [r for r in MASKED if avg[r] is not None]
    best = max(done_masked, key=avg.get) if done_masked else None
    sup_cells, sup_complete = table(sup, s['supervised'], ['plain', 'masked (steps 1-7)'], s['seeds'])
    sup_diff = {}
    for name in s['supervised']:
        higher = SUPERVISED[name] == 'scaffold'
        sign = 1.0 if higher else -1.0
        d = paired(sup, 'masked (steps 1-7)', 'plain', [name], s['seeds'], sign=sign)
        sup_diff[name] = d
    ts = []
    g = gains.get(best) if best else None
    ts.append(target(f'best masked variant ({best or "none complete"}): mean ROC-AUC gain over no pretraining on {len(s["transfer"])} sets, points', None if g is None else g['mean'], '>=', MIN_GAIN,
                     note='' if g is None else f"95 % interval {g['interval'][0]:+.2f} to {g['interval'][1]:+.2f}"))
    ts.append(target('best masked variant: lower end of the gain interval, points', None if g is None else g['interval'][0], '>=', 0.0))
    c = gains.get('contrastive')
    ts.append(target(f'best masked variant minus contrastive: mean ROC-AUC on {len(s["transfer"])} sets, points', None if not best or avg['contrastive'] is None else avg[best] - avg['contrastive'], '>=', 0.0))
    if best and complete['ECFP4 + random forest']:
        wins = sum(cells[best, n][0] >= cells['ECFP4 + random forest', n][0] for n in s['transfer'])
        ts.append(target('sets where the best masked variant is at least as good as ECFP4 + random forest', float(wins), '>=', ECFP_SETS))
    else: ts.append(target('sets where the best masked variant is at least as good as ECFP4 + random forest', None, '>=', ECFP_SETS, note='not all runs in'))
    worse = [n for n in s['supervised'] if sup_complete['plain'] and sup_complete['masked (steps 1-7)']
             and (sup_cells['masked (steps 1-7)', n][0] - sup_cells['plain', n][0]) * (1 if SUPERVISED[n] == 'scaffold' else -1) < -sup_cells['plain', n][1]]
    sup_done = sup_complete['plain'] and sup_complete['masked (steps 1-7)']
    ts.append(target('supervised method: sets worse than plain training by more than one std', float(len(worse)) if sup_done else None, '<=', 0, note=', '.join(worse)))
    if scale_:
        mem = scale_['memory']; small, large = (mem[str(n)]['peak_growth_mb'] for n in s['shards'])
        ts.append(target(f"peak memory growth, {s['shards'][1]:,} molecules / {s['shards'][0]:,}", large / small, '<=', 1.2))
    return dict(cells={f'{k[0]}|{k[1]}': v for k, v in cells.items()}, complete=complete, average=avg, gains=gains, best_masked=best,
                supervised_cells={f'{k[0]}|{k[1]}': v for k, v in sup_cells.items()}, supervised_complete=sup_complete, supervised_diff=sup_diff,
                targets=ts)


def fmt(m, sd=None, n=None, full=None, f='{:.1f}'):
    if m != m: return '—'
    out = f.format(m) + ('' if sd is None else ' ± ' + f.format(sd))
    return out + (f' ({n} of {full} seeds)' if n is not None and full is not None and n < full else '')


def markdown(report:dict) -> str:
    s, sm = MODES[report['mode']], report['summary']
    n_seeds = len(s['seeds'])
    cell = lambda row, name: sm['cells'][f'{row}|{name}']
    out = [f"# Pretraining benchmark ({report['mode']})", '', f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
           f"Machine: {report['machine']['cpu']}, {report['machine']['usable_cores']} usable cores, {report['machine']['ram_gb']} GB, GPU: {report['machine']['gpu']}  ",
           'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['machine']['versions'].items()), '',
           'Protocol: see the docstring of `benchmarks/pretrain.py`. ' + report['status'], '']
    ci = report.get('corpus')
    if ci: out += [f"Corpus: {ci['sampled']:,} MOSES training molecules sampled (seed 0); {ci['left_out_test_molecules']:,} left out because they occur in a downstream test split "
                   f"({ci['downstream_test_molecules']:,} test molecules over the sets), {ci['rejected']:,} rejected; {ci['train']:,} pretrain, {ci['valid']:,} validate.", '']
    if report['pretraining']:
        resumed = lambda r: r.get('resumed_from') is not None or r.get('resumed')
        out += ['## Pretraining runs', '', md_table(['variant', 'molecules', 'epochs', 'training seconds', 'molecules/s (median epoch)', 'peak RSS growth MB', 'validation'],
                [[v, f"{r['molecules']:,}", r['epochs'], f"{r['seconds']}" + (' *' if resumed(r) and 'wall_seconds' not in r else ''), r['molecules_per_s'],
                  f"{r['peak_rss_growth_mb']}" + (' †' if resumed(r) else ''), ', '.join(f'{k} {x}' for k, x in r['valid'].items())]
                 for v, r in report['pretraining'].items()]), '']
        if any(resumed(r) for r in report['pretraining'].values()):
            out += ['† resumed from a checkpoint: peak memory is the resumed process\'s. * recorded before resumed runs kept their '
                    'history\'s seconds: the time after the resume only, not comparable with the other rows.', '']
        out += ['These runs were built up over several sittings, some beside other work on the same 2 cores (contrastive, for one, shared them with another job '
                'and was paused for 7 minutes): read their seconds as a record, not a speed measurement. The scale stage measures throughput alone, in fresh processes.', '']
    out += [f"## Transfer: test ROC-AUC × 100, mean ± std over seeds (scaffold split)", '',
            md_table(['row', *s['transfer'], 'average', 'gain over no pretraining (95 % interval)'],
                     [[row, *(fmt(*cell(row, n)[:2], cell(row, n)[2], n_seeds) for n in s['transfer']),
                       fmt(sm['average'][row]) if sm['average'][row] is not None else 'incomplete',
                       (lambda g: '' if g is None else f"{g['mean']:+.2f} ({g['interval'][0]:+.2f} to {g['interval'][1]:+.2f})")(sm['gains'].get(row))]
                      for row in ROWS]), '',
            'Anchors (published, 2 M ZINC molecules, GIN 300 x 5, 100 pretraining epochs): ' +
            '; '.join(f"{k}: " + ', '.join(f'{n} {v}' for n, v in a.items()) for k, a in ANCHORS.items()), '']
    out += ['## Supervised: the method of steps 1-7 against plain training (same encoder and recipe)', '',
            md_table(['set', 'metric', 'plain', 'masked (steps 1-7)', 'difference, better positive (95 % interval)'],
                     [[n, 'RMSE' if SUPERVISED[n] == 'random' else 'ROC-AUC', fmt(*sm['supervised_cells'][f'plain|{n}'][:2], sm['supervised_cells'][f'plain|{n}'][2], n_seeds, '{:.3f}'),
                       fmt(*sm['supervised_cells'][f'masked (steps 1-7)|{n}'][:2], sm['supervised_cells'][f'masked (steps 1-7)|{n}'][2], n_seeds, '{:.3f}'),
                       (lambda d: '' if d is None else f"{d['mean']:+.3f} ({d['interval'][0]:+.3f} to {d['interval'][1]:+.3f})")(sm['supervised_diff'][n])]
                      for n in s['supervised']]), '']
    sc = report.get('scale')
    if sc:
        med = sc['medians']
        out += ['## Scale', '', md_table(['run', 'molecules/s (median)', 'all rounds'], [[k, f'{v:.0f}', ', '.join(f'{x:.0f}' for x in sc['rates'][k])] for k, v in med.items()]), '',
                md_table(['corpus molecules', 'sharding s', 'one epoch s', 'peak RSS growth MB', 'of which while sharding'],
                         [[f'{int(n):,}', f"{m['shard_seconds']:.0f}", f"{m['seconds']:.0f}", f"{m['peak_growth_mb']:.0f}", f"{m['sharding_growth_mb']:.0f}" if 'sharding_growth_mb' in m else '']
                          for n, m in sc['memory'].items()]), '']
    sh = report.get('shipped')
    if sh:
        cell = lambda row, name: sh['cells'][f'{row}|{name}']
        out += [f"## The shipped encoder ({sh['encoder']}), fine-tuned as `fit(encoder_from=...)` does it", '',
                'Test ROC-AUC (scaffold split, Hu et al.) or RMSE (random split, seed 0), mean ± std over seeds. The contrastive row is the transfer stage\'s '
                '(250,000 molecules x 5 epochs, linear head, no frozen epochs); ECFP4 + random forest on the classification sets is the transfer stage\'s run.', '',
                md_table(['row', *sh['sets']], [[row, *(fmt(*cell(row, n)[:2], cell(row, n)[2], n_seeds, '{:.3f}') for n in sh['sets'])] for row in sh['rows']]), '']
        if sh['gain']: out += [f"Mean ROC-AUC gain over no pretraining on the classification sets: {sh['gain']['mean']:+.2f} points (95 % interval {sh['gain']['interval'][0]:+.2f} to {sh['gain']['interval'][1]:+.2f}).", '']
        fp = sh.get('footprint')
        if fp: out += [f"Footprint: the wheel is {fp['wheel_mb']} MB with the weights ({fp['weights_mb']} MB of them); loading the encoder by name takes {fp['load_s']:.3f} s "
                       f"in a fresh interpreter after `import molnb.pretrain` (median of {len(fp['load_all_s'])}).", '']
    out += ['## Targets', '', targets_table(report['targets']), '']
    return '\n'.join(out)


# ---------------------------------------------------------------- main
def main(args):
    import torch
    mode = 'quick' if args.quick else 'full'
    s, cache = MODES[mode], Cache(mode)
    os.environ.setdefault('MOLNB_DATA', str(DEFAULT_DATA))
    torch.set_num_threads(2)
    runs = cache.runs()
    stages = args.stages or ['transfer', 'supervised', 'scale', 'shipped']
    loaded = {}
    def data():
        if 'corpus' not in loaded: loaded['corpus'] = corpus(mode, cache)
        return loaded['corpus'][:2]
    def data_3d():
        if 'corpus_3d' not in loaded: loaded['corpus_3d'] = corpus_3d(mode, data)
        return loaded['corpus_3d']
    def fresh(k, fn, **fields):
        if k in runs: return
        t0 = time.perf_counter(); r = fn(); r.update(fields, key=k, date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
        cache.add(r); runs[k] = r
        log(f"{k}: test {r['test']:.4f} ({time.perf_counter() - t0:.0f} s)")
    from molnb.featurize import featurize
    parts = {}
    def featurized(name, method, three_d=False):
        if (name, method, three_d) not in parts: parts[name, method, three_d] = tuple(featurize(d, conformers=three_d, quiet=True) for d in splits(name, method, s['sample']))
        return parts[name, method, three_d]
    if not args.report and 'transfer' in stages:
        for row in ROWS:
            variant = PRETRAINED.get(row)
            if variant and not all(key('transfer', row, n, k) in runs for n in s['transfer'] for k in s['seeds']):
                pretrain(variant, mode, cache, data_3d if variant == '3d' else data)
            for seed in s['seeds']:
                for name in s['transfer']:
                    k = key('transfer', row, name, seed)
                    three_d = '3-D' in row
                    if row == 'ECFP4 + random forest': fresh(k, lambda: ecfp_forest(name, seed, mode, featurized(name, 'scaffold')), stage='transfer', row=row, set=name, seed=seed)
                    else: fresh(k, lambda: finetune(name, row, seed, mode, cache, featurized(name, 'scaffold', three_d)), stage='transfer', row=row, set=name, seed=seed)
    if not args.report and 'supervised' in stages:
        for seed in s['seeds']:
            for name in s['supervised']:
                for row in (['plain', 'masked (steps 1-7)'] if seed % 2 == 0 else ['masked (steps 1-7)', 'plain']):
                    fresh(key('supervised', row, name, seed), lambda: supervised(name, row, seed, mode, featurized(name, SUPERVISED[name])), stage='supervised', row=row, set=name, seed=seed)
    if not args.report and 'scale' in stages and 'scale' not in runs: cache.add(dict(scale(mode, cache), key='scale', stage='scale'))
    python = args.chemprop_python or os.environ.get('MOLNB_CHEMPROP_PYTHON')
    if not args.report and 'shipped' in stages:
        raw = {}
        for seed in s['seeds']:
            for name in SHIPPED_SETS[mode]:
                sp = SPLIT_OF[name]
                for row in (shipped_row(args.encoder), SHIPPED_BASELINE, FOREST) + ((CHEMPROP,) if python else ()):
                    k = key('shipped', row, name, seed)
                    if row == FOREST and key('transfer', FOREST, name, seed) in runs and k not in runs:  # the same forest on the same split and seed
                        runs[k] = dict(runs[key('transfer', FOREST, name, seed)], key=k, stage='shipped', row=row, metric='roc_auc'); cache.add(runs[k]); continue
                    if row == FOREST: job = lambda: ecfp_forest(name, seed, mode, featurized(name, sp))
                    elif row == CHEMPROP: job = lambda: shipped_chemprop(name, seed, mode, python, raw[name] if name in raw else raw.setdefault(name, splits(name, sp, s['sample'])))
                    else: job = lambda: shipped_finetune(name, row, seed, mode, args.encoder, featurized(name, sp))
                    fresh(k, job, stage='shipped', row=row, set=name, seed=seed, encoder=args.encoder)
        k = f'shipped/footprint/{args.encoder}'
        if k not in runs: cache.add(dict(footprint(args.encoder), key=k, stage='footprint', encoder=args.encoder))
    runs = cache.runs()  # corpus, pretraining and scale records are kept beside the runs
    records = {v: runs[f'pretraining/{p}'] for v, p in PRETRAINED.items() if f'pretraining/{p}' in runs}
    corpus_info, scale_ = runs.get('corpus'), runs.get('scale')
    summary = summarise(runs, mode, corpus_info, records, scale_)
    shipped = shipped_summary(runs, mode, args.encoder) if any(r['stage'] == 'shipped' for r in runs.values()) else None
    expected = len(ROWS) * len(s['transfer']) * len(s['seeds']) + 2 * len(s['supervised']) * len(s['seeds'])
    have = sum(1 for r in runs.values() if r['stage'] in ('transfer', 'supervised'))
    n_shipped = sum(1 for r in runs.values() if r['stage'] == 'shipped' and r.get('encoder', args.encoder) == args.encoder)
    want_shipped = len(SHIPPED_SETS[mode]) * len(s['seeds']) * 4
    shipped_status = f" Shipped stage ({args.encoder}): {n_shipped} of {want_shipped} runs in (chemprop's need --chemprop-python)." if n_shipped else ''
    status = (f"All {expected} runs are in." if have >= expected and scale_ else
              f"**Incomplete: {have} of {expected} runs in{'' if scale_ else ', scale not measured'}** (cached; run the command again to continue). Rows marked with fewer seeds, and averages marked incomplete, are not final.")
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                  machine=machine_info(), settings=dict(encoder=ENCODER, encoder_3d=ENCODER_3D, ratio=RATIO, batch=BATCH, pretrain_batch=PRETRAIN_BATCH, lr=LR, **s),
                  status=status + shipped_status, corpus=corpus_info, pretraining=records, scale=scale_, summary=summary,
                  shipped=shipped, rows=sorted((r for r in runs.values() if r['stage'] in ('transfer', 'supervised', 'shipped')), key=lambda r: r['key']),
                  targets=summary['targets'] + (shipped['targets'] if shipped else []))
    md, js = write_results(NAME, report, markdown(report), args.quick)
    log(f"wrote {md} and {js}: {status}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: tiny corpus, bbbp (transfer), esol and bbbp (supervised), two seeds, a few epochs')
    ap.add_argument('--stages', nargs='+', choices=['transfer', 'supervised', 'scale', 'shipped'], help='run only these stages (default all)')
    ap.add_argument('--encoder', default=DEFAULT_SHIPPED, help='the shipped encoder the shipped stage fine-tunes (molnb pretrained lists them)')
    ap.add_argument('--chemprop-python', help="chemprop 2.3.1's interpreter for the shipped stage's chemprop rows (default: $MOLNB_CHEMPROP_PYTHON; none: those rows are left out)")
    ap.add_argument('--report', action='store_true', help='write the report from the cached runs, training nothing')
    ap.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    a = ap.parse_args()
    child(a) if a.child else main(a)
