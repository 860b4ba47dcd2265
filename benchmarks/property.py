#!/usr/bin/env python
"""Property-prediction benchmark: molnb's GIN against chemprop's D-MPNN, each at its own recommended settings, on the same splits.

    python benchmarks/property.py                   # full: esol, freesolv, lipo, bbbp, bace; seeds 0-4; 50 epochs (runs kept)
    python benchmarks/property.py --stages speed    # throughput side by side on a quiet machine (fresh processes, ratios)
    python benchmarks/property.py --report          # the report from the runs kept so far, training nothing
    python benchmarks/property.py --quick           # quick: esol and bbbp, seed 0, 5 epochs, molnb GIN and chemprop
    python benchmarks/property.py --quick --no-chemprop   # the molnb side only (CI, which does not install chemprop)

Protocol (full mode). Every library at its own recommended budget: chemprop 2.3.1 as `chemprop train` runs with its
defaults (50 epochs), molnb at its defaults (`ModelConfig()`: GIN, hidden 128, 4 layers; `train()`: 50 epochs, AdamW
lr 1e-3, batch 64, cosine schedule). Beside molnb's default GIN (170k parameters): a parameter-matched GIN (hidden 180,
4 layers: about chemprop's 318k parameters), so that a reader sees whether a difference is architecture or size. The
300 x 3 GIN of the earlier protocol (twice chemprop's size) can be added with `--models`. Splits: random 80/10/10 (`random_split(ds, seed=s)`) for esol,
freesolv and lipo; balanced scaffold 80/10/10 (`scaffold_split(ds, balanced=True, seed=s)`, chemprop's
`scaffold_balanced`, so that seeds give different splits) for bbbp and bace. The split is made once with molnb's API;
chemprop is given exactly the same train/validation/test SMILES and labels (checked in code). Every model trains the
full budget and is evaluated on the test set with the weights of its best validation epoch. Five seeds, paired: seed s
of every model shares the split; per set, the paired differences against chemprop with a seed-bootstrap 95 % interval.

Each model + set + seed runs in a fresh subprocess (this script with `--child`), so peak memory (Linux `VmHWM`) is per
run; the models of one set and seed run one after another, their order rotated each seed. chemprop runs in the
interpreter named by `--chemprop-python` (or `$MOLNB_CHEMPROP_PYTHON`; default this one): chemprop 2.3.1 pins the
RDKit wheel it was built against, so it lives in a virtual environment of its own. Finished full-mode runs are kept in
`benchmarks/runs/property.jsonl` (committed), so the full mode is built up over several sittings and machines.

Throughput (`--stages speed`) is measured apart from the accuracy runs, which may share the machine with other work:
every model trains SPEED_EPOCHS epochs on seed 0's split of each set in fresh processes, one after another, for
SPEED_ROUNDS rounds with the order rotated; a model's rate is the median over rounds of its median-epoch training
molecules/s, and each molnb model is reported as a ratio to chemprop's rate of the same round. With `--before REV`
molnb's default GIN is also run from a checkout of REV (a git worktree, put first on PYTHONPATH), and the step-time
breakdown (`molnb.train.StepTimer`: collate, forward, backward, optimiser) of both is reported. Nothing else heavy
should run while it times. Writes `benchmarks/results/property.{md,json}` (full) or `property.quick.{md,json}`; the
MoleculeNet CSVs are read from `$MOLNB_DATA` (default `../shared/data/moleculenet` from the repo root).
"""
# Only the standard library at the top: the chemprop child must not import molnb, torch_geometric or another RDKit.
from common import RunLog, cpu_model, seed_bootstrap
import argparse, csv, datetime, hashlib, json, math, os, platform, re, resource, shlex, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

NAME = 'property'
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO/'benchmarks'/'results'
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
SETS = {'esol': 'random', 'freesolv': 'random', 'lipo': 'random', 'bbbp': 'scaffold', 'bace': 'scaffold'}  # set -> split
QUICK_SETS = ['esol', 'bbbp']
SEEDS = {'full': [0, 1, 2, 3, 4], 'quick': [0]}
EPOCHS = {'full': 50, 'quick': 5}  # 50: chemprop's default and molnb's
BATCH_SIZE, LR = 64, 1e-3  # both libraries' defaults
SPEED_EPOCHS, SPEED_ROUNDS = 6, 3
# molnb models: fixed across sets, molnb's defaults otherwise (dropout 0.1, mean pooling, MLP head of 128)
MODELS = {
    'molnb GIN': dict(library='molnb', config=dict(encoder='gin')),  # ModelConfig's defaults: hidden 128, 4 layers
    'molnb GIN (parameter-matched)': dict(library='molnb', config=dict(encoder='gin', hidden=180, layers=4)),
    'molnb GIN (300 x 3)': dict(library='molnb', config=dict(encoder='gin', hidden=300, layers=3)),
    'molnb transformer': dict(library='molnb', config=dict(encoder='transformer', hidden=128, layers=4, heads=4, geometry='2d')),
    'chemprop D-MPNN': dict(library='chemprop', config=dict(message_hidden_dim=300, depth=3, ffn='1 x 300', aggregation='norm')),
}
FULL_MODELS = ['molnb GIN', 'molnb GIN (parameter-matched)', 'chemprop D-MPNN']  # 'molnb GIN (300 x 3)' with --models
QUICK_MODELS = ['molnb GIN', 'chemprop D-MPNN']
CHEMPROP, DEFAULT_GIN, BEFORE = 'chemprop D-MPNN', 'molnb GIN', 'molnb GIN (before)'
# Revision of each library's training path: part of every kept run's key. Bump molnb's when a change alters what a molnb
# run computes (model, engine, featurization); chemprop's runs stay valid while its version and settings do.
REVISION = {'molnb': 2, 'chemprop': 1}
MIN_SETS_FRACTION = 3 / 5  # target (a): molnb's best model at least as accurate as chemprop on 3 of 5 sets
MIN_RATE_RATIO = 1.2  # target (b): molnb's best model trains at least 1.2x chemprop's molecules/s, on every set
CHILD_TIMEOUT_S = 4 * 3600
HIGHER_IS_BETTER = {'rmse': False, 'roc_auc': True}


def log(msg): print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- memory (as in benchmarks/featurize.py)

def peak_rss_mb() -> float:
    "Peak RSS of this process in MB: Linux's per-process `VmHWM` (not `ru_maxrss`, which keeps the spawning parent's RSS over exec)."
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    except OSError: pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == 'darwin' else 1024) / 2**20


def rss_mb() -> float:
    "Current RSS of this process in MB (Linux `VmRSS`; else the peak)."
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024
    except OSError: pass
    return peak_rss_mb()


# ---------------------------------------------------------------- split files shared by both libraries

def smiles_hash(smiles) -> str: return hashlib.sha256('\n'.join(smiles).encode()).hexdigest()[:16]


def write_split(folder:Path, parts:dict, targets:list):
    "One CSV per part (train/valid/test): smiles and the label columns, empty where a label is missing."
    for part, ds in parts.items():
        with open(folder/f'{part}.csv', 'w', newline='') as f:
            w = csv.writer(f); w.writerow(['smiles', *targets])
            for s, y in zip(ds.smiles, ds.y): w.writerow([s, *('' if v != v else repr(float(v)) for v in y)])


def read_split(folder:Path, part:str) -> tuple:
    "(smiles, labels as a list of float lists with NaN for missing) of one part written by `write_split`."
    with open(folder/f'{part}.csv', newline='') as f:
        rows = list(csv.reader(f))[1:]
    return [r[0] for r in rows], [[float(v) if v else float('nan') for v in r[1:]] for r in rows]


def molnb_split(name:str, seed:int, data:Path) -> tuple:
    "(dataset, split) of MoleculeNet set `name` with molnb's API: random for regression sets, balanced scaffold for bbbp/bace."
    from molnb.data import load_moleculenet, random_split, scaffold_split
    ds = load_moleculenet(name, root=data, quiet=True)
    split = random_split(ds, seed=seed) if SETS[name] == 'random' else scaffold_split(ds, balanced=True, seed=seed)
    return ds, split


# ---------------------------------------------------------------- children: one model, one set, one seed, fresh process

def child_molnb(spec:dict) -> dict:
    "Train one molnb model on one split; report the test metric, timings and peak memory."
    import numpy as np, torch
    import molnb
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import StepTimer, train
    ds, split = molnb_split(spec['set'], spec['seed'], Path(spec['data']))
    parts = dict(zip(('train', 'valid', 'test'), split.apply(ds)))
    baseline = rss_mb()
    t = time.perf_counter()
    gs = {k: featurize(v, cache=False, n_workers=0, quiet=True) for k, v in parts.items()}
    featurize_s = time.perf_counter() - t
    for k in parts:
        if gs[k].smiles != list(parts[k].smiles): raise RuntimeError(f"molnb featurize dropped or reordered molecules of the {k} part ({len(gs[k])} of {len(parts[k])} kept)")
    cfg = ModelConfig(**spec['config'], n_tasks=len(ds.targets), task=ds.task)
    torch.manual_seed(spec['seed'])  # the initial weights
    model = PropertyModel(cfg)
    timer = [StepTimer()] if spec.get('breakdown') else []
    res = train(model, gs['train'], gs['valid'], gs['test'], epochs=spec['epochs'], lr=LR, batch_size=BATCH_SIZE, seed=spec['seed'], quiet=True, callbacks=timer)
    epoch_s = [float(x) for x in res.history['seconds']]
    n = len(gs['train'])
    # the validation score of the epoch the trainer kept, as it logged it (the parent checks it against the restored weights)
    logged = res.history[f'valid_{ds.metric}']
    return dict(metric=ds.metric, test=float(res.test[ds.metric]), valid=float(res.valid[ds.metric]),
                logged_best_valid=float(logged.max() if HIGHER_IS_BETTER[ds.metric] else logged.min()), valid_scale=1.0,
                n_train=n, n_valid=len(gs['valid']), n_test=len(gs['test']),
                hashes={k: smiles_hash(v.smiles) for k, v in parts.items()},
                epochs_run=len(epoch_s), best_epoch=res.best_epoch, featurize_s=featurize_s, fit_s=float(res.seconds),
                train_loop_s=sum(epoch_s), epoch_train_s=epoch_s,
                rate_median=float(res.molecules_per_s), rate_total=n * len(epoch_s) / sum(epoch_s),
                rate_median_recomputed=float(statistics.median(n / s for s in epoch_s)),
                parameters=sum(p.numel() for p in model.parameters()), threads=torch.get_num_threads(),
                baseline_rss_mb=baseline, peak_rss_mb=peak_rss_mb(),
                versions=dict(molnb=molnb.__version__, torch=torch.__version__), molnb_path=str(Path(molnb.__file__).parent),
                breakdown=timer[0].table().to_dict('records') if timer else None)


def child_chemprop(spec:dict) -> dict:
    """Train chemprop's D-MPNN on the split files, as `chemprop train` does with its default arguments: its own argument
    parser gives every setting, its `build_model` builds the model, and a Lightning `Trainer` with the CLI's checkpoint
    (best validation epoch) and early-stopping (patience = epochs, so never) callbacks trains it. Only the epochs,
    batch size, seeds and the tracked validation metric (the benchmark's metric, as molnb's) are set."""
    import numpy as np, torch, rdkit
    import chemprop, lightning
    from lightning import pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from configargparse import ArgumentParser
    from chemprop.cli.common import add_common_args, process_common_args
    from chemprop.cli.train import add_train_args, process_train_args, build_model, normalize_inputs
    from chemprop.cli.utils import make_dataset
    from chemprop.conf import LIGHTNING_26_COMPAT_ARGS
    from chemprop.data import MoleculeDatapoint, build_dataloader
    from chemprop.nn.transforms import UnscaleTransform
    import logging, warnings
    logging.getLogger('lightning').setLevel(logging.ERROR); logging.getLogger('lightning.pytorch').setLevel(logging.ERROR)
    warnings.filterwarnings('ignore')

    folder, seed, epochs, regression = Path(spec['folder']), spec['seed'], spec['epochs'], spec['task'] == 'regression'
    metric = 'rmse' if regression else 'roc'
    parser = add_train_args(add_common_args(ArgumentParser()))
    args = parser.parse_args(['--data-path', str(folder/'train.csv'), '--task-type', 'regression' if regression else 'classification',
                              '--epochs', str(epochs), '--batch-size', str(BATCH_SIZE), '--pytorch-seed', str(seed),
                              '--data-seed', str(seed), '--metrics', metric, '--tracking-metric', metric])
    args = process_train_args(process_common_args(args))
    data = {p: read_split(folder, p) for p in ('train', 'valid', 'test')}
    baseline = rss_mb()
    t = time.perf_counter()
    dsets = {}
    for p, (smiles, y) in data.items():
        dps = [MoleculeDatapoint.from_smi(s, np.array(v, dtype=float), keep_h=args.keep_h, add_h=args.add_h,
                                          ignore_stereo=args.ignore_stereo, reorder_atoms=args.reorder_atoms) for s, v in zip(smiles, y)]
        dsets[p] = make_dataset(dps, args.rxn_mode, args.multi_hot_atom_featurizer_mode, args.use_cuikmolmaker_featurization, n_workers=args.num_workers)
    output_transform = None
    if regression:
        scaler = dsets['train'].normalize_targets(); dsets['valid'].normalize_targets(scaler)
        output_transform = UnscaleTransform.from_standard_scaler(scaler)
    input_transforms = normalize_inputs(dsets['train'], dsets['valid'], args)
    if not args.no_cache: dsets['train'].cache = True; dsets['valid'].cache = True  # featurizes once, as the CLI does
    featurize_s = time.perf_counter() - t
    loaders = dict(train=build_dataloader(dsets['train'], args.batch_size, args.num_workers, seed=args.data_seed, drop_last=args.batch_norm),
                   valid=build_dataloader(dsets['valid'], args.batch_size, args.num_workers, shuffle=False, drop_last=args.batch_norm),
                   test=build_dataloader(dsets['test'], args.batch_size, args.num_workers, shuffle=False, drop_last=args.batch_norm))
    torch.manual_seed(args.pytorch_seed)  # as the CLI: the seed makes the run deterministic too
    model = build_model(args, dsets['train'], output_transform, input_transforms)

    class EpochTimer(pl.Callback):
        "Seconds of each epoch's training batches (from the epoch start to the start of its validation), as molnb measures them."
        def __init__(self): self.train_s, self.t0 = [], None
        def on_train_epoch_start(self, trainer, module): self.t0 = time.perf_counter()
        def on_validation_start(self, trainer, module):
            if not trainer.sanity_checking and self.t0 is not None: self.train_s.append(time.perf_counter() - self.t0); self.t0 = None

    timer, tracking = EpochTimer(), f'val/{metric}'
    mode = 'min' if regression else 'max'
    with tempfile.TemporaryDirectory(prefix='molnb-bench-chemprop-') as ckpt:
        checkpoint = ModelCheckpoint(ckpt, 'best-{epoch}', tracking, mode=mode, save_last=True)
        trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator='cpu', devices=1,
                             max_epochs=epochs, callbacks=[checkpoint, EarlyStopping(tracking, patience=epochs, mode=mode), timer],
                             gradient_clip_val=args.grad_clip, deterministic=True)
        t = time.perf_counter()
        trainer.fit(model, loaders['train'], loaders['valid'])
        fit_s = time.perf_counter() - t
        best_epoch = int(re.search(r'epoch=(\d+)', Path(checkpoint.best_model_path).name).group(1)) + 1  # Lightning counts from 0
        logged_best = float(checkpoint.best_model_score)  # chemprop's val/rmse is in standardized units: / the training std
        # the best checkpoint, as the CLI's `trainer.predict` after fit; predictions come back in label units / as probabilities
        preds = {p: torch.cat(trainer.predict(dataloaders=loaders[p], ckpt_path='best', **LIGHTNING_26_COMPAT_ARGS)) for p in ('valid', 'test')}
    n = len(dsets['train'])
    return dict(metric='rmse' if regression else 'roc_auc', preds={p: v.reshape(len(v), -1).tolist() for p, v in preds.items()},
                logged_best_valid=logged_best, valid_scale=float(scaler.scale_[0]) if regression else 1.0,
                n_train=n, n_valid=len(dsets['valid']), n_test=len(dsets['test']),
                hashes={p: smiles_hash(s) for p, (s, _) in data.items()},
                epochs_run=len(timer.train_s), best_epoch=best_epoch, featurize_s=featurize_s, fit_s=fit_s,
                train_loop_s=sum(timer.train_s), epoch_train_s=timer.train_s,
                rate_median=float(statistics.median(n / s for s in timer.train_s)), rate_total=n * len(timer.train_s) / sum(timer.train_s),
                parameters=sum(p.numel() for p in model.parameters()), threads=torch.get_num_threads(),
                baseline_rss_mb=baseline, peak_rss_mb=peak_rss_mb(),
                versions=dict(chemprop=chemprop.__version__, lightning=lightning.__version__, torch=torch.__version__, rdkit=rdkit.__version__))


def run_child(python:str, spec:dict) -> dict:
    "Run one child in a fresh interpreter and return what it reports (its last stdout line, JSON)."
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f: json.dump(spec, f)
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([spec['pythonpath'], os.environ.get('PYTHONPATH', '')])) if spec.get('pythonpath') else None
        out = subprocess.run([python, str(Path(__file__).resolve()), '--child', f.name], capture_output=True, text=True,
                             timeout=CHILD_TIMEOUT_S, check=False, cwd=REPO, env=env)
    finally: os.unlink(f.name)
    if out.returncode: raise RuntimeError(f"child {spec['model']} / {spec['set']} / seed {spec['seed']} failed (exit {out.returncode}):\n{out.stderr[-6000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(spec_path:str):
    spec = json.loads(Path(spec_path).read_text())
    res = child_chemprop(spec) if spec['library'] == 'chemprop' else child_molnb(spec)
    print(json.dumps(res, default=float))


# ---------------------------------------------------------------- parent: runs of one set, kept in the run log

def mean_std(xs:list) -> tuple:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs: return float('nan'), float('nan')
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def run_key(model:str, name:str, seed:int, epochs:int) -> str:
    "A kept run's key: model (with its configuration), set, seed, epochs and the library's revision."
    lib = MODELS[model]['library']
    return f"{model}|{json.dumps(MODELS[model]['config'], sort_keys=True)}|{name}|seed {seed}|{epochs} epochs|{lib} r{REVISION[lib]}"


def checked_run(spec:dict, python:str, parts:dict, ds) -> dict:
    "Run one child and check it: the same molecules as the split, every epoch run, the kept weights those of the best logged epoch."
    from molnb.train import metrics
    t = time.perf_counter()
    r = run_child(python, spec)
    r['child_s'] = time.perf_counter() - t
    what = f"{spec['model']} on {spec['set']} seed {spec['seed']}"
    hashes = {k: smiles_hash(v.smiles) for k, v in parts.items()}
    if r['hashes'] != hashes: raise RuntimeError(f"{what} saw other molecules than the split: {r['hashes']} != {hashes}")
    if r['epochs_run'] != spec['epochs']: raise RuntimeError(f"{what} ran {r['epochs_run']} epochs, not {spec['epochs']}")
    if 'preds' in r:  # chemprop: score its predictions with molnb's metric function, on the same labels
        preds = r.pop('preds')
        for p in ('valid', 'test'): r[p] = metrics(parts[p].y, preds[p], ds.task, ds.targets)[ds.metric]
    r['selection_ok'] = abs(r['valid'] / r['valid_scale'] - r['logged_best_valid']) <= 1e-3 * max(1.0, abs(r['logged_best_valid']))
    if not r['selection_ok']: log(f"  WARNING {what}: valid {ds.metric} of the kept weights {r['valid']:.4f} "
                                  f"(/ {r['valid_scale']:.4f}) differs from the best logged {r['logged_best_valid']:.4f}")
    return r


def measure_set(name:str, models:list, seeds:list, epochs:int, data:Path, chemprop_python:str, runlog:RunLog|None) -> list:
    "Every model x seed run of one set: kept runs from `runlog`, the others trained now (and kept)."
    runs = []
    for i, seed in enumerate(seeds):
        order = models[i % len(models):] + models[:i % len(models)]
        todo = [m for m in order if runlog is None or runlog.get(run_key(m, name, seed, epochs)) is None]
        runs += [runlog.get(run_key(m, name, seed, epochs)) for m in order if m not in todo]
        if not todo: continue
        ds, split = molnb_split(name, seed, data)
        parts = dict(zip(('train', 'valid', 'test'), split.apply(ds)))
        with tempfile.TemporaryDirectory(prefix=f'molnb-bench-{name}-') as folder:
            write_split(Path(folder), parts, ds.targets)
            for model in todo:
                lib = MODELS[model]['library']
                spec = dict(model=model, library=lib, set=name, seed=seed, epochs=epochs, data=str(data), folder=folder, task=ds.task,
                            config=MODELS[model]['config'])
                r = checked_run(spec, chemprop_python if lib == 'chemprop' else sys.executable, parts, ds)
                r.update(key=run_key(model, name, seed, epochs), model=model, set=name, seed=seed, epochs=epochs,
                         date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))
                runs.append(runlog.add(r) if runlog is not None else r)
                log(f"  {name} seed {seed} {model}: test {ds.metric} {r['test']:.3f} (valid {r['valid']:.3f}, best epoch {r['best_epoch']}), "
                    f"{r['rate_median']:,.0f} mol/s median epoch, fit {r['fit_s']:.0f}s, peak {r['peak_rss_mb']:.0f} MB")
    return runs


def summarise_set(name:str, models:list, seeds:list, epochs:int, runs:list) -> list:
    "One row per model with its runs, means and standard deviations, and (beside chemprop) paired per-seed differences."
    rows = []
    for model in models:
        rs = sorted((r for r in runs if r['model'] == model and r['set'] == name and r['seed'] in seeds), key=lambda r: r['seed'])
        if not rs: continue
        row = dict(dataset=name, split='random' if SETS[name] == 'random' else 'scaffold_balanced', model=model,
                   library=MODELS[model]['library'], config=MODELS[model]['config'], metric=rs[0]['metric'], epochs=epochs,
                   seeds=[r['seed'] for r in rs], complete=len(rs) == len(seeds), n_train=rs[0]['n_train'], n_valid=rs[0]['n_valid'],
                   n_test=rs[0]['n_test'], parameters=rs[0]['parameters'], versions=rs[0]['versions'])
        for k in ('test', 'valid', 'rate_median', 'rate_total', 'fit_s', 'train_loop_s', 'featurize_s', 'peak_rss_mb', 'baseline_rss_mb', 'best_epoch'):
            row[f'{k}_mean'], row[f'{k}_std'] = mean_std([r[k] for r in rs])
        row['selection_ok'] = all(r['selection_ok'] for r in rs)
        row['runs'] = rs
        rows.append(row)
    chem = next((r for r in rows if r['model'] == CHEMPROP), None)
    for row in rows:
        if chem is None or row is chem: continue
        sign = 1 if HIGHER_IS_BETTER[row['metric']] else -1  # better positive
        theirs = {r['seed']: r['test'] for r in chem['runs']}
        d = [sign * (r['test'] - theirs[r['seed']]) for r in row['runs'] if r['seed'] in theirs]
        row['vs_chemprop'] = dict(seeds=len(d), mean=statistics.fmean(d) if d else float('nan'), interval=seed_bootstrap(d))
    return rows


# ---------------------------------------------------------------- throughput side by side (quiet machine)

def before_checkout(rev:str) -> Path:
    "A git worktree of `rev` in a temporary folder: its molnb package is imported when it comes first on PYTHONPATH."
    folder = Path(tempfile.mkdtemp(prefix='molnb-before-'))/'tree'
    out = subprocess.run(['git', 'worktree', 'add', '--detach', '-q', str(folder), rev], cwd=REPO, capture_output=True, text=True)
    if out.returncode: sys.exit(f"benchmarks/{NAME}.py --before {rev}: git could not check it out: {out.stderr.strip()}")
    return folder


def remove_checkout(folder:Path):
    "Undo `before_checkout`: the worktree and its temporary folder."
    subprocess.run(['git', 'worktree', 'remove', '--force', str(folder)], cwd=REPO, capture_output=True)
    shutil.rmtree(folder.parent, ignore_errors=True)


def measure_speed(sets:list, models:list, data:Path, chemprop_python:str, before:Path|None, rounds:int=SPEED_ROUNDS,
                  epochs:int=SPEED_EPOCHS) -> list:
    """Every model's training throughput on seed 0's split of each set, in fresh processes one after another, `rounds`
    times with the order rotated; one row per set and model: the median-epoch rate of each round, and molnb's ratios to
    chemprop's rate of the same round."""
    out = []
    entries = list(models) + ([BEFORE] if before else [])
    for name in sets:
        ds, split = molnb_split(name, 0, data)
        parts = dict(zip(('train', 'valid', 'test'), split.apply(ds)))
        rates, breakdowns = {m: [] for m in entries}, {}
        with tempfile.TemporaryDirectory(prefix=f'molnb-speed-{name}-') as folder:
            write_split(Path(folder), parts, ds.targets)
            for i in range(rounds):
                for model in entries[i % len(entries):] + entries[:i % len(entries)]:
                    base = DEFAULT_GIN if model == BEFORE else model
                    lib = MODELS[base]['library']
                    spec = dict(model=model, library=lib, set=name, seed=0, epochs=epochs, data=str(data), folder=folder, task=ds.task,
                                config=MODELS[base]['config'], breakdown=base == DEFAULT_GIN,
                                pythonpath=str(before) if model == BEFORE else None)
                    r = checked_run(spec, chemprop_python if lib == 'chemprop' else sys.executable, parts, ds)
                    if model == BEFORE and Path(r['molnb_path']).resolve() != (before/'molnb').resolve():
                        raise RuntimeError(f"the --before child imported molnb from {r['molnb_path']}, not from {before}")
                    rates[model].append(r['rate_median'])
                    if r.get('breakdown') and i == rounds - 1: breakdowns[model] = r['breakdown']
                    log(f"  speed {name} round {i} {model}: {r['rate_median']:,.0f} mol/s (median of {epochs} epochs)")
        for model in entries:
            row = dict(dataset=name, model=model, epochs=epochs, rounds=rounds, rates=rates[model], rate=statistics.median(rates[model]),
                       breakdown=breakdowns.get(model))
            if CHEMPROP in rates and model != CHEMPROP:
                ratios = [a / b for a, b in zip(rates[model], rates[CHEMPROP])]
                row.update(ratio=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios))
            out.append(row)
    return out


# ---------------------------------------------------------------- targets

def better_or_equal(a:float, b:float, metric:str) -> bool: return a >= b if HIGHER_IS_BETTER[metric] else a <= b


def best_molnb(rows:list, name:str) -> dict|None:
    "molnb's best model on a set, chosen by its mean validation metric (not the test metric it is then judged on)."
    cands = [r for r in rows if r['dataset'] == name and r['library'] == 'molnb']
    if not cands: return None
    sign = 1 if HIGHER_IS_BETTER[cands[0]['metric']] else -1
    return max(cands, key=lambda r: sign * r['valid_mean'])


def targets(rows:list, speed:list, sets:list, with_chemprop:bool) -> list:
    "(a) accuracy on 3 of 5 sets, (b) throughput ratio on every set, (c) peak memory on every set: from the measured rows."
    need = math.ceil(MIN_SETS_FRACTION * len(sets))
    name_a = f"sets where molnb's best model (chosen per set by validation metric) is at least as accurate as chemprop D-MPNN (mean test metric over seeds; of {len(sets)})"
    if not with_chemprop:
        skip = 'not measured: chemprop was not run (--no-chemprop)'
        return ([target(name_a, None, '>=', need, skip)] +
                [target(f"{s}: training molecules/s, molnb's best model / chemprop D-MPNN", None, '>=', MIN_RATE_RATIO, skip) for s in sets] +
                [target(f"{s}: peak memory, molnb's best model / chemprop D-MPNN", None, '<=', 1.0, skip) for s in sets])
    pairs = {s: (best_molnb(rows, s), next((r for r in rows if r['dataset'] == s and r['model'] == CHEMPROP), None)) for s in sets}
    complete = all(b is not None and c is not None and b['complete'] and c['complete'] for b, c in pairs.values())
    wins = sum(better_or_equal(b['test_mean'], c['test_mean'], b['metric']) for b, c in pairs.values() if b and c)
    detail = '; '.join(f"{s}: {b['model']} {b['test_mean']:.3f} vs {c['test_mean']:.3f}" for s, (b, c) in pairs.items() if b and c)
    out = [target(name_a, wins if complete else None, '>=', need, detail if complete else f'incomplete ({detail})')]
    for s, (b, c) in pairs.items():
        model = b['model'] if b else DEFAULT_GIN  # no accuracy runs yet: molnb's default GIN
        sp = next((x for x in speed if x['dataset'] == s and x['model'] == model and 'ratio' in x), None)
        out.append(target(f"{s}: training molecules/s, {model} / chemprop D-MPNN (median of {sp['rounds'] if sp else SPEED_ROUNDS} side-by-side rounds)",
                          sp['ratio'] if sp else None, '>=', MIN_RATE_RATIO,
                          f"{sp['rate']:,.0f} vs {next(x['rate'] for x in speed if x['dataset'] == s and x['model'] == CHEMPROP):,.0f} mol/s; "
                          f"rounds {sp['ratio_min']:.2f} to {sp['ratio_max']:.2f}" if sp else 'not measured: run --stages speed'))
    for s, (b, c) in pairs.items():
        ok = b is not None and c is not None
        out.append(target(f"{s}: peak memory (VmHWM of the training process), {b['model'] if b else 'molnb'} / chemprop D-MPNN",
                          b['peak_rss_mb_mean'] / c['peak_rss_mb_mean'] if ok else None, '<=', 1.0,
                          f"{b['peak_rss_mb_mean']:,.0f} vs {c['peak_rss_mb_mean']:,.0f} MB" if ok else 'not measured'))
    return out


def target(name:str, value, op:str, limit:float, note:str='') -> dict:
    met = value is not None and (value >= limit if op == '>=' else value <= limit)
    t = dict(name=name, value=None if value is None else round(value, 3), target=f"{op} {limit:g}", met=bool(met))
    if note: t['note'] = note
    return t

# ---------------------------------------------------------------- report

def machine_info(rows:list) -> dict:
    import numpy, pandas, psutil, rdkit, torch, torch_geometric, sklearn
    import molnb
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'
    versions = dict(python=platform.python_version(), torch=torch.__version__, torch_geometric=torch_geometric.__version__,
                    rdkit=rdkit.__version__, molnb=molnb.__version__, numpy=numpy.__version__, pandas=pandas.__version__,
                    scikit_learn=sklearn.__version__)
    cp = next((r['versions'] for r in rows if r['library'] == 'chemprop'), None)
    if cp: versions.update(chemprop=cp['chemprop'], lightning=cp['lightning'], chemprop_torch=cp['torch'], chemprop_rdkit=cp['rdkit'])
    return dict(cores=os.cpu_count(), usable_cores=usable, cpu=cpu_model(), ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
                gpu=gpu, platform=platform.platform(), torch_threads=torch.get_num_threads(), versions=versions)


def command_line() -> str:
    "The command as run from the repository root."
    env = ''.join(f"{k}={shlex.quote(os.environ[k])} " for k in ('MOLNB_DATA', 'MOLNB_CHEMPROP_PYTHON') if os.environ.get(k))
    return env + shlex.join(['python', f'benchmarks/{NAME}.py', *sys.argv[1:]])


def md_table(header:list, lines:list) -> str:
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] + ['| ' + ' | '.join(map(str, l)) + ' |' for l in lines])


def pm(m, s, fmt='{:.3f}') -> str: return 'n/a' if m != m else f"{fmt.format(m)} ± {fmt.format(s)}"


def targets_table(ts:list) -> str:
    return md_table(['target', 'value', 'wanted', 'met', 'detail'],
                    [[t['name'], 'n/a' if t['value'] is None else t['value'], t['target'],
                      ('met' if t['met'] else '**MISSED**') if t['value'] is not None else 'not measured', t.get('note', '')] for t in ts])


def write_results(report:dict, quick:bool) -> tuple:
    "property.{md,json} for a full run, property.quick.{md,json} for a quick one (a quick run never overwrites a full one)."
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f'{NAME}.quick' if quick else NAME
    md, js = RESULTS/f'{stem}.md', RESULTS/f'{stem}.json'
    md.write_text(markdown(report))
    js.write_text(json.dumps(report, indent=1) + '\n')
    return md, js


def has_chemprop(python:str) -> str:
    "'' if `python` can import chemprop and lightning, else the reason why not."
    out = subprocess.run([python, '-c', 'import chemprop, lightning'], capture_output=True, text=True, check=False)
    return '' if out.returncode == 0 else (out.stderr.strip().splitlines() or ['unknown error'])[-1]


def fmt_interval(iv, f='{:+.3f}') -> str: return 'n/a' if iv is None or iv[0] != iv[0] else f"{f.format(iv[0])} to {f.format(iv[1])}"


def set_table(rows:list, name:str) -> str:
    rs = [r for r in rows if r['dataset'] == name]
    best = best_molnb(rows, name)
    arrow = '↑' if HIGHER_IS_BETTER[rs[0]['metric']] else '↓'
    metric = {'rmse': 'RMSE', 'roc_auc': 'ROC-AUC'}[rs[0]['metric']]
    head = ['model', f'test {metric} {arrow}', f'valid {metric} {arrow}', 'vs chemprop, better positive (95 % interval)', 'seeds',
            'train mol/s (median epoch, this run)', 'fit s (incl. validation)', 'peak RSS MB', 'best epoch', 'parameters']
    def vs(r):
        v = r.get('vs_chemprop')
        return '' if not v else f"{v['mean']:+.3f} ({fmt_interval(v['interval'])})"
    return md_table(head, [[r['model'] + (' (best molnb, by valid)' if best is not None and r is best and len(rs) > 1 else ''),
                            pm(r['test_mean'], r['test_std']), pm(r['valid_mean'], r['valid_std']), vs(r),
                            f"{len(r['seeds'])}" + ('' if r['complete'] else ' (incomplete)'),
                            pm(r['rate_median_mean'], r['rate_median_std'], '{:,.0f}'), pm(r['fit_s_mean'], r['fit_s_std'], '{:.0f}'),
                            pm(r['peak_rss_mb_mean'], r['peak_rss_mb_std'], '{:.0f}'), pm(r['best_epoch_mean'], r['best_epoch_std'], '{:.1f}'),
                            f"{r['parameters']:,}"] for r in rs])


def speed_table(speed:list) -> str:
    return md_table(['set', 'model', 'train mol/s (median of rounds)', 'per round', '/ chemprop (median, range)'],
                    [[x['dataset'], x['model'], f"{x['rate']:,.0f}", ', '.join(f'{v:,.0f}' for v in x['rates']),
                      f"{x['ratio']:.2f} ({x['ratio_min']:.2f} to {x['ratio_max']:.2f})" if 'ratio' in x else ''] for x in speed])


def breakdown_table(speed:list) -> str:
    "Milliseconds per step (median) and share of each phase, molnb's default GIN before and after, per set."
    lines = []
    for x in speed:
        if not x.get('breakdown'): continue
        b = {r['phase']: r for r in x['breakdown']}
        lines.append([x['dataset'], x['model'], *(f"{b[p]['median_ms']:.2f} ({b[p]['share']:.0%})" for p in ('collate', 'forward', 'backward', 'optimiser')),
                      f"{sum(b[p]['median_ms'] for p in b):.2f}"])
    return md_table(['set', 'model', 'collate ms (share)', 'forward', 'backward', 'optimiser', 'step ms (sum of medians)'], lines)


def markdown(report:dict) -> str:
    m, v, p = report['machine'], report['machine']['versions'], report['protocol']
    rows, speed = report['rows'], report.get('speed') or []
    sets = list(dict.fromkeys(r['dataset'] for r in rows))
    cp = (f", chemprop {v['chemprop']}, lightning {v['lightning']} (chemprop's interpreter: torch {v['chemprop_torch']}, rdkit {v['chemprop_rdkit']})"
          if 'chemprop' in v else ', chemprop not run (`--no-chemprop`)')
    sizes = ', '.join(f"{s} {r['n_train']}/{r['n_valid']}/{r['n_test']} ({r['split']})" for s in sets for r in [next(x for x in rows if x['dataset'] == s)])
    tables = '\n\n'.join(f"### {s}\n\n{set_table(rows, s)}" for s in sets)
    bad = [f"{r['dataset']} / {r['model']}" for r in rows if not r['selection_ok']]
    check = ("Check: in every run the kept weights score on validation what the trainer logged for its best epoch "
             "(chemprop's logged RMSE is in standardized units and is compared after dividing by the training std)."
             if not bad else f"**Check failed**: the kept weights do not reproduce the best logged validation score in {', '.join(bad)}.")
    n_runs, n_expected = sum(len(r['runs']) for r in rows), len(p['sets']) * len(p['seeds']) * len(p['models'])
    status = '' if n_runs == n_expected else f"\n\n**Incomplete: {n_runs} of {n_expected} runs** (kept in `benchmarks/runs/property.jsonl`; run the command again to continue). Rows marked incomplete are not final."
    models = '\n'.join(f"- {k}: `{json.dumps(x['config'])}`" for k, x in p['models'].items())
    sp = report.get('speed_info')
    speed_md = ("Not measured yet: `python benchmarks/property.py --stages speed` on a quiet machine." if not speed else
                f"Command: `{sp['command']}`; date {sp['date']}; {sp['epochs']} epochs per run, {sp['rounds']} rounds, fresh processes, order rotated"
                f"{'; before = molnb at `' + sp['before'] + '`' if sp.get('before') else ''}.\n\n{speed_table(speed)}\n\n"
                f"Where a step's time goes (`molnb.train.StepTimer`, median ms per step over the last round's run):\n\n{breakdown_table(speed)}")
    return f"""# Property prediction: molnb GIN vs chemprop D-MPNN, each at its own recommended settings

- Command (from the repository root): `{report['command']}`
- Mode: {report['mode']}; {p['epochs']} epochs for every model, seeds {p['seeds']}, batch size {p['batch_size']}; report written {report['date']}
- Machine: {m['cores']} cores ({m['usable_cores']} usable, torch threads {m['torch_threads']}), {m['cpu']}, {m['ram_gb']} GB RAM, GPU: {m['gpu']}; {m['platform']}
- Versions: python {v['python']}, torch {v['torch']}, torch_geometric {v['torch_geometric']}, rdkit {v['rdkit']}, molnb {v['molnb']}, numpy {v['numpy']}, scikit-learn {v['scikit_learn']}{cp}{status}

Protocol: see the docstring of `benchmarks/property.py`. Splits are made with molnb's API and given to every model;
train/valid/test sizes (seed {p['seeds'][0]}): {sizes}. Test and validation metrics of both libraries are computed by
`molnb.train.metrics` from the predictions. {check} chemprop runs in a virtual environment of its own (chemprop
2.3.1 pins `rdkit==2026.03.6` through `cuik_molmaker_pin`): `pip install torch==2.13.0 chemprop==2.3.1`.

Models:
{models}

chemprop D-MPNN is `chemprop train`'s defaults, read from its own argument parser and built by its `build_model` (bond
messages, hidden 300, depth 3, dropout 0, norm aggregation, FFN of one 300-wide hidden layer, Noam schedule, batch size
64), trained by a Lightning `Trainer` with the CLI's `ModelCheckpoint` and `EarlyStopping`, `--pytorch-seed s
--data-seed s`, and `--tracking-metric` set to the benchmark's metric. molnb models train with
`molnb.train.train(model, train, valid, test, seed=s)` at its defaults.

## Accuracy (mean ± std over seeds; paired differences against chemprop with a seed-bootstrap 95 % interval)

*train mol/s (this run)* is measured during the accuracy runs, which may share the machine with other work; the
throughput comparison is the side-by-side measurement below.

{tables}

## Throughput, side by side

{speed_md}

## Targets

(a) counts the sets where molnb's best model — the molnb model with the better mean *validation* metric on that set —
has a mean test metric no worse than chemprop's. (b) compares that model's training throughput with chemprop's, from
the side-by-side measurement. (c) compares their peak memory in the accuracy runs.

{targets_table(report['targets'])}
"""


def kept_runs(runlog:RunLog, models:list, sets:list, seeds:list, epochs:int) -> list:
    "The kept runs of these models, sets, seeds and epochs (at today's revisions)."
    return [r for m in models for s in sets for seed in seeds if (r := runlog.get(run_key(m, s, seed, epochs))) is not None]


def main(args):
    mode = 'quick' if args.quick else 'full'
    sets = args.sets or (QUICK_SETS if args.quick else list(SETS))
    seeds = SEEDS[mode] if args.seeds is None else args.seeds
    epochs = args.epochs or EPOCHS[mode]
    stages = args.stages or ['accuracy']
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    from molnb.data import MOLECULENET
    missing = [MOLECULENET[s]['file'] for s in sets if not (data/MOLECULENET[s]['file']).is_file()]
    if missing: sys.exit(f"benchmarks/{NAME}.py: MoleculeNet CSVs {missing} not found in {data}; set MOLNB_DATA to the folder holding them")
    models = [m for m in (args.models or (QUICK_MODELS if args.quick else FULL_MODELS)) if not (args.no_chemprop and MODELS[m]['library'] == 'chemprop')]
    chemprop_python = args.chemprop_python or os.environ.get('MOLNB_CHEMPROP_PYTHON') or sys.executable
    if not args.report and CHEMPROP in models and (why := has_chemprop(chemprop_python)):
        sys.exit(f"benchmarks/{NAME}.py: chemprop cannot be imported by {chemprop_python} ({why}). Install it into a virtual environment "
                 f"(pip install torch==2.13.0 chemprop==2.3.1) named with --chemprop-python / $MOLNB_CHEMPROP_PYTHON, or pass --no-chemprop")
    started = datetime.datetime.now(datetime.timezone.utc)
    runlog = None if args.quick else RunLog(NAME)
    saved = json.loads((RESULTS/f'{NAME}.json').read_text()) if not args.quick and (RESULTS/f'{NAME}.json').exists() else {}
    runs = []
    if 'accuracy' in stages and not args.report:
        for s in sets:
            log(f"{s}: {len(seeds)} seed(s) x {len(models)} models x {epochs} epochs")
            runs += measure_set(s, models, seeds, epochs, data, chemprop_python, runlog)
    if runlog is not None: runs = kept_runs(runlog, models, sets, seeds, epochs)
    speed, speed_info = saved.get('speed'), saved.get('speed_info')
    if 'speed' in stages and not args.report:
        before = before_checkout(args.before) if args.before else None
        try: speed = measure_speed(sets, models, data, chemprop_python, before, rounds=args.rounds)
        finally:
            if before: remove_checkout(before)
        speed_info = dict(command=command_line(), date=started.strftime('%Y-%m-%d %H:%M UTC'), epochs=SPEED_EPOCHS, rounds=args.rounds, before=args.before)
    rows = [row for s in sets for row in summarise_set(s, models, seeds, epochs, runs)]
    if not rows and not speed: sys.exit(f"benchmarks/{NAME}.py: nothing to report yet; run the accuracy or the speed stage first")
    report = dict(command=saved.get('command') if args.report or 'accuracy' not in stages else command_line(), mode=mode,
                  date=started.strftime('%Y-%m-%d %H:%M UTC'), machine=machine_info(rows),
                  protocol=dict(sets={s: SETS[s] for s in sets}, seeds=seeds, epochs=epochs, batch_size=BATCH_SIZE, lr=LR,
                                models={m: MODELS[m] for m in models}, chemprop=not args.no_chemprop, revision=REVISION,
                                chemprop_python=None if args.no_chemprop else chemprop_python),
                  rows=rows, speed=speed, speed_info=speed_info, targets=targets(rows, speed or [], sets, CHEMPROP in models))
    report['command'] = report['command'] or command_line()
    md, js = write_results(report, args.quick)
    print(markdown(report))
    for t in report['targets']:
        print(f"{('met   ' if t['met'] else 'MISSED') if t['value'] is not None else 'n/a   '}  {t['name']}: {t['value']} (wanted {t['target']})")
    print(f"wrote {md.relative_to(REPO)} and {js.relative_to(REPO)}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='esol and bbbp, seed 0, 5 epochs, molnb GIN and chemprop (also the smoke test)')
    ap.add_argument('--stages', nargs='+', choices=['accuracy', 'speed'], help='accuracy runs (default) and/or the side-by-side throughput')
    ap.add_argument('--no-chemprop', action='store_true', help='run the molnb models only (targets are then not measured)')
    ap.add_argument('--chemprop-python', help='interpreter that has chemprop 2.3.1 (default $MOLNB_CHEMPROP_PYTHON, else this one)')
    ap.add_argument('--models', nargs='+', choices=list(MODELS), help='models (default: the full or quick list)')
    ap.add_argument('--epochs', type=int, help=f"epochs for every model (default {EPOCHS['full']} full, {EPOCHS['quick']} quick)")
    ap.add_argument('--seeds', type=int, nargs='+', help='seeds (default 0-4 full, 0 quick)')
    ap.add_argument('--sets', nargs='+', choices=list(SETS), help='sets (default all five full, esol and bbbp quick)')
    ap.add_argument('--rounds', type=int, default=SPEED_ROUNDS, help='speed stage: rounds of every model per set')
    ap.add_argument('--before', help="speed stage: also time molnb's default GIN from this git revision, with the step breakdown")
    ap.add_argument('--report', action='store_true', help='train nothing: the report from the kept runs (and the saved speed stage)')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rounds < 1: ap.error('--rounds must be at least 1')
    if args.child: child_main(args.child)
    else: main(args)
