#!/usr/bin/env python
"""Property-prediction benchmark: molnb's GIN and graph transformer against chemprop's D-MPNN, on the same splits.

    python benchmarks/property.py                   # full: esol, freesolv, lipo, bbbp, bace; seeds 0, 1, 2; 25 epochs
    python benchmarks/property.py --quick           # quick: esol and bbbp, seed 0, 5 epochs
    python benchmarks/property.py --quick --no-chemprop   # the molnb side only (CI, which does not install chemprop)
    python benchmarks/property.py --sets esol --update --why '...'   # re-measure one set, keep the other sets' saved rows

Splits: random 80/10/10 for esol, freesolv and lipo; balanced scaffold 80/10/10 for bbbp and bace (molnb's
`scaffold_split(balanced=True, seed=s)`, chemprop's `scaffold_balanced` variant, so that seeds give different splits).
The split is made once with molnb's API; chemprop is given exactly the same train/validation/test SMILES and labels
(checked in code). Every model trains for the same fixed number of epochs, with the same batch size, and is evaluated
on the test set with the weights of its best validation epoch.

Each model + set + seed runs in a fresh subprocess (this script with `--child`), so peak memory (Linux `VmHWM`) is per
run; the models of one set and seed run one after another, their order rotated each seed, so load from other work on
the machine falls on all of them alike. chemprop runs in the interpreter named by `--chemprop-python` (or
`$MOLNB_CHEMPROP_PYTHON`; default this one): chemprop 2.3.1 pins the RDKit wheel it was built against, so it may live
in a virtual environment of its own. Writes `benchmarks/results/property.{md,json}` (full) or `property.quick.{md,json}`
(quick); the MoleculeNet CSVs are read from `$MOLNB_DATA` (default `../shared/data/moleculenet` from the repo root).
"""
# Only the standard library at the top: the chemprop child must not import molnb, torch_geometric or another RDKit.
from common import cpu_model
import argparse, csv, datetime, hashlib, json, math, os, platform, re, resource, shlex, statistics, subprocess, sys, tempfile, time
from pathlib import Path

NAME = 'property'
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO/'benchmarks'/'results'
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
SETS = {'esol': 'random', 'freesolv': 'random', 'lipo': 'random', 'bbbp': 'scaffold', 'bace': 'scaffold'}  # set -> split
QUICK_SETS = ['esol', 'bbbp']
SEEDS = {'full': [0, 1, 2], 'quick': [0]}
PROTOCOL_EPOCHS = 50  # the intended full budget (chemprop's default) ...
EPOCHS = {'full': 25, 'quick': 5}  # ... cut to 25 for every model: the full run takes ~42 min at 25 epochs on 2 cores, ~85 min at 50
BATCH_SIZE, LR = 64, 1e-3
# molnb models: fixed across sets. GIN matches the D-MPNN's width and depth (300, 3); other settings are molnb's defaults.
MODELS = {
    'molnb GIN': dict(library='molnb', config=dict(encoder='gin', hidden=300, layers=3)),
    'molnb transformer': dict(library='molnb', config=dict(encoder='transformer', hidden=128, layers=4, heads=4, geometry='2d')),
    'chemprop D-MPNN': dict(library='chemprop', config=dict(message_hidden_dim=300, depth=3, ffn='1 x 300', aggregation='norm')),
}
CHEMPROP = 'chemprop D-MPNN'
MIN_SETS_FRACTION = 3 / 5  # target (a): molnb's best model at least as accurate as chemprop on 3 of 5 sets
MIN_RATE_RATIO = 1.0  # target (b): molnb's best model trains at least as many molecules/s as chemprop, on every set
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
    from molnb.train import train
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
    res = train(model, gs['train'], gs['valid'], gs['test'], epochs=spec['epochs'], lr=LR, batch_size=BATCH_SIZE, seed=spec['seed'], quiet=True)
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
                versions=dict(molnb=molnb.__version__, torch=torch.__version__))


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
        out = subprocess.run([python, str(Path(__file__).resolve()), '--child', f.name], capture_output=True, text=True,
                             timeout=CHILD_TIMEOUT_S, check=False, cwd=REPO)
    finally: os.unlink(f.name)
    if out.returncode: raise RuntimeError(f"child {spec['model']} / {spec['set']} / seed {spec['seed']} failed (exit {out.returncode}):\n{out.stderr[-6000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(spec_path:str):
    spec = json.loads(Path(spec_path).read_text())
    res = child_chemprop(spec) if MODELS[spec['model']]['library'] == 'chemprop' else child_molnb(spec)
    print(json.dumps(res))


# ---------------------------------------------------------------- parent: one set, all seeds and models

def mean_std(xs:list) -> tuple:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs: return float('nan'), float('nan')
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def measure_set(name:str, models:list, seeds:list, epochs:int, data:Path, chemprop_python:str) -> list:
    "One row per model: per-seed runs and their means and standard deviations."
    from molnb.train import metrics
    runs = {m: [] for m in models}
    for i, seed in enumerate(seeds):
        ds, split = molnb_split(name, seed, data)
        parts = dict(zip(('train', 'valid', 'test'), split.apply(ds)))
        hashes = {k: smiles_hash(v.smiles) for k, v in parts.items()}
        with tempfile.TemporaryDirectory(prefix=f'molnb-bench-{name}-') as folder:
            write_split(Path(folder), parts, ds.targets)
            for model in models[i % len(models):] + models[:i % len(models)]:
                lib = MODELS[model]['library']
                spec = dict(model=model, set=name, seed=seed, epochs=epochs, data=str(data), folder=folder, task=ds.task,
                            config=MODELS[model]['config'])
                t = time.perf_counter()
                r = run_child(chemprop_python if lib == 'chemprop' else sys.executable, spec)
                r['child_s'] = time.perf_counter() - t
                if r['hashes'] != hashes: raise RuntimeError(f"{model} saw other molecules than the split of {name} seed {seed}: {r['hashes']} != {hashes}")
                if r['epochs_run'] != epochs: raise RuntimeError(f"{model} ran {r['epochs_run']} epochs on {name} seed {seed}, not {epochs}")
                if 'preds' in r:  # chemprop: score its predictions with molnb's metric function, on the same labels
                    preds = r.pop('preds')
                    for p in ('valid', 'test'): r[p] = metrics(parts[p].y, preds[p], ds.task, ds.targets)[ds.metric]
                # best-epoch selection check: the kept weights score on validation what the trainer logged for its best epoch
                r['selection_ok'] = abs(r['valid'] / r['valid_scale'] - r['logged_best_valid']) <= 1e-3 * max(1.0, abs(r['logged_best_valid']))
                if not r['selection_ok']: log(f"  WARNING {model} {name} seed {seed}: valid {ds.metric} of the kept weights {r['valid']:.4f} "
                                              f"(/ {r['valid_scale']:.4f}) differs from the best logged {r['logged_best_valid']:.4f}")
                r['seed'] = seed
                runs[model].append(r)
                log(f"  {name} seed {seed} {model}: test {ds.metric} {r['test']:.3f} (valid {r['valid']:.3f}, best epoch {r['best_epoch']}), "
                    f"{r['rate_median']:,.0f} mol/s median epoch, {r['rate_total']:,.0f} mol/s overall, fit {r['fit_s']:.0f}s, peak {r['peak_rss_mb']:.0f} MB")
    rows = []
    for model in models:
        rs = runs[model]
        row = dict(dataset=name, split='random' if SETS[name] == 'random' else 'scaffold_balanced', model=model,
                   library=MODELS[model]['library'], config=MODELS[model]['config'], metric=rs[0]['metric'], epochs=epochs,
                   seeds=[r['seed'] for r in rs], n_train=rs[0]['n_train'], n_valid=rs[0]['n_valid'], n_test=rs[0]['n_test'],
                   parameters=rs[0]['parameters'], versions=rs[0]['versions'])
        for k in ('test', 'valid', 'rate_median', 'rate_total', 'fit_s', 'train_loop_s', 'featurize_s', 'peak_rss_mb', 'baseline_rss_mb', 'best_epoch'):
            row[f'{k}_mean'], row[f'{k}_std'] = mean_std([r[k] for r in rs])
        row['selection_ok'] = all(r['selection_ok'] for r in rs)
        row['runs'] = rs
        rows.append(row)
    return rows


# ---------------------------------------------------------------- targets

def better_or_equal(a:float, b:float, metric:str) -> bool: return a >= b if HIGHER_IS_BETTER[metric] else a <= b


def best_molnb(rows:list, name:str) -> dict:
    "molnb's best model on a set, chosen by its mean validation metric (not the test metric it is then judged on)."
    cands = [r for r in rows if r['dataset'] == name and r['library'] == 'molnb']
    sign = 1 if HIGHER_IS_BETTER[cands[0]['metric']] else -1
    return max(cands, key=lambda r: sign * r['valid_mean'])


def target(name:str, value, op:str, limit:float, note:str='') -> dict:
    met = value is not None and (value >= limit if op == '>=' else value <= limit)
    t = dict(name=name, value=None if value is None else round(value, 3), target=f"{op} {limit:g}", met=bool(met))
    if note: t['note'] = note
    return t


def targets(rows:list, sets:list, with_chemprop:bool) -> list:
    need = math.ceil(MIN_SETS_FRACTION * len(sets))
    if not with_chemprop:
        skip = 'not measured: chemprop was not run (--no-chemprop)'
        return ([target(f"sets where molnb's best model is at least as accurate as chemprop D-MPNN (of {len(sets)})", None, '>=', need, skip)] +
                [target(f"{s}: training molecules/s, molnb's best model / chemprop D-MPNN", None, '>=', MIN_RATE_RATIO, skip) for s in sets])
    wins, detail, out = 0, [], []
    for s in sets:
        b, c = best_molnb(rows, s), next(r for r in rows if r['dataset'] == s and r['model'] == CHEMPROP)
        ok = better_or_equal(b['test_mean'], c['test_mean'], b['metric'])
        wins += ok
        detail.append(f"{s}: {b['model']} {b['test_mean']:.3f} vs {c['test_mean']:.3f} {'(at least as accurate)' if ok else '(worse)'}")
    out.append(target(f"sets where molnb's best model (chosen per set by validation metric) is at least as accurate as chemprop D-MPNN "
                      f"(mean test {rows[0]['metric'] if len({r['metric'] for r in rows}) == 1 else 'RMSE / ROC-AUC'} over seeds; of {len(sets)})",
                      wins, '>=', need, '; '.join(detail)))
    for s in sets:
        b, c = best_molnb(rows, s), next(r for r in rows if r['dataset'] == s and r['model'] == CHEMPROP)
        out.append(target(f"{s}: training molecules/s (median epoch, mean over seeds), {b['model']} / chemprop D-MPNN",
                          b['rate_median_mean'] / c['rate_median_mean'], '>=', MIN_RATE_RATIO,
                          f"{b['rate_median_mean']:,.0f} vs {c['rate_median_mean']:,.0f} mol/s; overall definition "
                          f"{b['rate_total_mean']:,.0f} vs {c['rate_total_mean']:,.0f} = {b['rate_total_mean'] / c['rate_total_mean']:.2f}x"))
    return out


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


def set_table(rows:list, name:str) -> str:
    rs = [r for r in rows if r['dataset'] == name]
    metric = {'rmse': 'RMSE ↓', 'roc_auc': 'ROC-AUC ↑'}[rs[0]['metric']]
    best = best_molnb(rows, name)['model'] if any(r['library'] == 'molnb' for r in rs) else None
    head = ['model', f'test {metric}', f'valid {metric}', 'train mol/s (median epoch)', 'train mol/s (overall)', 'fit s (incl. validation)',
            'peak RSS MB', 'best epoch', 'parameters']
    return md_table(head, [[r['model'] + (' (best molnb, by valid)' if r['model'] == best and any(x['library'] == 'chemprop' for x in rs) else ''),
                            pm(r['test_mean'], r['test_std']), pm(r['valid_mean'], r['valid_std']),
                            pm(r['rate_median_mean'], r['rate_median_std'], '{:,.0f}'), pm(r['rate_total_mean'], r['rate_total_std'], '{:,.0f}'),
                            pm(r['fit_s_mean'], r['fit_s_std'], '{:.0f}'), pm(r['peak_rss_mb_mean'], r['peak_rss_mb_std'], '{:.0f}'),
                            pm(r['best_epoch_mean'], r['best_epoch_std'], '{:.1f}'), f"{r['parameters']:,}"] for r in rs])


def targets_table(ts:list) -> str:
    return md_table(['target', 'value', 'wanted', 'met', 'detail'],
                    [[t['name'], 'n/a' if t['value'] is None else t['value'], t['target'],
                      ('met' if t['met'] else '**MISSED**') if t['value'] is not None else 'not measured', t.get('note', '')] for t in ts])


def budget_note(report:dict) -> str:
    "What the epoch budget was, and why, from the run's own mode, epochs and duration."
    p, minutes = report['protocol'], report['duration_s'] / 60
    if report['mode'] == 'quick':
        return f"Quick mode: a smoke test ({', '.join(p['sets'])}; seeds {p['seeds']}; {p['epochs']} epochs) — too short for the accuracy comparison to mean much."
    if p['epochs'] == PROTOCOL_EPOCHS: return f"Full protocol: {p['epochs']} epochs for every model."
    return (f"**Epoch budget: {p['epochs']} epochs for every model**, cut from the protocol's {PROTOCOL_EPOCHS} (chemprop's default) "
            f"so that the benchmark takes about an hour at most on this 2-core machine: this run took {minutes:.0f} min, so "
            f"{PROTOCOL_EPOCHS} epochs would take about {minutes * PROTOCOL_EPOCHS / p['epochs']:.0f} min.")


def _without_why(command:str) -> str:
    "The command line without its --why text (the note quotes that separately)."
    args = shlex.split(command)
    keep = [a for i, a in enumerate(args) if a != '--why' and (i == 0 or args[i - 1] != '--why')]
    return shlex.join(keep)


def updates_note(report:dict) -> str:
    "Which sets were re-measured after the full run, when and how (`--update`)."
    return ''.join(f"\n\nRe-measured on {u['date']} ({u['duration_s'] / 60:.0f} min): {', '.join(u['sets'])}, with `{_without_why(u['command'])}`; "
                   f"the other sets' rows are those of the run above." + (f" Why: {u['why']}" if u.get('why') else '') for u in report.get('updates', []))


def markdown(report:dict) -> str:
    m, v, p = report['machine'], report['machine']['versions'], report['protocol']
    rows = report['rows']
    sets = list(dict.fromkeys(r['dataset'] for r in rows))
    cp = (f", chemprop {v['chemprop']}, lightning {v['lightning']} (chemprop's interpreter: torch {v['chemprop_torch']}, rdkit {v['chemprop_rdkit']})"
          if 'chemprop' in v else ', chemprop not run (`--no-chemprop`)')
    env = ''
    if 'chemprop' in v and v['chemprop_rdkit'] != v['rdkit']:
        env = (f"\n\nchemprop ran in its own interpreter (`{p['chemprop_python']}`, a virtual environment with `pip install chemprop=={v['chemprop']} torch=={v['torch'].split('+')[0]}`, which kept the CPU torch "
               f"{v['chemprop_torch']}): chemprop {v['chemprop']} requires `cuik_molmaker_pin`, which pins `rdkit==2026.03.6` (its compiled "
               f"extension links that RDKit wheel's libraries), so installing it next to molnb would replace RDKit {v['rdkit']} with "
               f"{v['chemprop_rdkit']}. chemprop therefore parses the shared SMILES with RDKit {v['chemprop_rdkit']}.")
    sizes = ', '.join(f"{s} {r['n_train']}/{r['n_valid']}/{r['n_test']} ({r['split']})" for s in sets for r in [next(x for x in rows if x['dataset'] == s)])
    tables = '\n\n'.join(f"### {s}\n\n{set_table(rows, s)}" for s in sets)
    bad = [f"{r['dataset']} / {r['model']}" for r in rows if not r['selection_ok']]
    check = ("Check: in every run the kept weights score on validation what the trainer logged for its best epoch "
             "(chemprop's logged RMSE is in standardized units and is compared after dividing by the training std)."
             if not bad else f"**Check failed**: the kept weights do not reproduce the best logged validation score in {', '.join(bad)}.")
    gin, tr = MODELS['molnb GIN']['config'], MODELS['molnb transformer']['config']
    return f"""# Property prediction: molnb GIN and graph transformer vs chemprop D-MPNN

- Command (from the repository root): `{report['command']}`
- Mode: {report['mode']}; {p['epochs']} epochs for every model, seeds {p['seeds']}, batch size {p['batch_size']}; date {report['date']}; took {report['duration_s'] / 60:.0f} min
- Machine: {m['cores']} cores ({m['usable_cores']} usable, torch threads {m['torch_threads']}), {m['cpu']}, {m['ram_gb']} GB RAM, GPU: {m['gpu']}; {m['platform']}
- Versions: python {v['python']}, torch {v['torch']}, torch_geometric {v['torch_geometric']}, rdkit {v['rdkit']}, molnb {v['molnb']}, numpy {v['numpy']}, scikit-learn {v['scikit_learn']}{cp}

{p['note']}{env}{updates_note(report)}

Protocol. Splits are made with molnb's API and given to every model: random 80/10/10 (`random_split(ds, seed=s)`) for
esol, freesolv and lipo; balanced scaffold 80/10/10 (`scaffold_split(ds, balanced=True, seed=s)`, the analogue of
chemprop's `scaffold_balanced`, so that each seed gives a different split) for bbbp and bace. Train/valid/test sizes
(seed {p['seeds'][0]}): {sizes}. chemprop reads the same canonical SMILES and labels from CSV files (the SMILES
lists are hashed and compared in code). Every model trains for the same fixed number of epochs (no early stopping),
selects the epoch with the best validation metric (RMSE or ROC-AUC, the same for both libraries) and is evaluated
once on the test set with those weights; test and validation metrics of both libraries are computed by
`molnb.train.metrics` from the predictions. {check}

Models. molnb GIN: `ModelConfig(encoder='gin', hidden={gin['hidden']}, layers={gin['layers']})`, the D-MPNN's width and
depth, molnb's defaults otherwise (dropout 0.1, mean pooling, MLP head of 128). molnb graph transformer (2-D):
`ModelConfig(encoder='transformer', hidden={tr['hidden']}, layers={tr['layers']}, heads={tr['heads']})`. Both train with
`molnb.train.train(..., epochs, lr={LR:g}, batch_size={BATCH_SIZE}, seed=s)` (AdamW, cosine schedule). chemprop D-MPNN:
`chemprop train`'s defaults, read from its own argument parser and built by its `build_model` (bond messages, hidden
300, depth 3, dropout 0, norm aggregation, FFN of one 300-wide hidden layer, Noam schedule 1e-4 → 1e-3 → 1e-4 with 2
warm-up epochs, batch size 64, featurized graphs cached), trained by a Lightning `Trainer` with the CLI's
`ModelCheckpoint` and `EarlyStopping` (patience = epochs); `--pytorch-seed s --data-seed s` (which, as in the CLI,
makes the run deterministic; molnb trains with torch's deterministic kernels too), and `--tracking-metric`
set to the benchmark's metric (the CLI default tracks the validation loss).

Measurements. Each model + set + seed runs in a fresh subprocess; models run one after another in the same
script run, their order rotated each seed. *train mol/s (median epoch)*: the median over epochs of training molecules
/ seconds of that epoch's training batches (molnb's `TrainResult.molecules_per_s`; for chemprop, timed from each
epoch's start to the start of its validation with a Lightning callback). *train mol/s (overall)*: training molecules
× epochs / the sum of those epoch times. Neither includes validation, featurization or start-up; *fit s* is the wall
time of the whole training call (epochs plus validation and, for chemprop, checkpoint writes). *peak RSS*: the child
process's `VmHWM`, which includes its imports (torch, RDKit, and Lightning for chemprop or PyG for molnb).
Values are mean ± standard deviation over seeds. The machine is shared with other work, so timings are noisy;
throughput is compared only within this run.

## Results

{tables}

## Targets

(a) counts the sets where molnb's best model — the molnb model with the better mean *validation* metric on that set —
has a mean test metric no worse than chemprop's (RMSE: lower or equal; ROC-AUC: higher or equal). (b) compares that
model's training throughput (median-epoch definition) with chemprop's on each set.

{targets_table(report['targets'])}
"""


def write_results(report:dict, quick:bool) -> tuple:
    "property.{md,json} for a full run, property.quick.{md,json} for a quick one (a quick run never overwrites a full one)."
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f'{NAME}.quick' if quick else NAME
    md, js = RESULTS/f'{stem}.md', RESULTS/f'{stem}.json'
    md.write_text(markdown(report))
    js.write_text(json.dumps(report, indent=1) + '\n')
    return md, js


def keep_other_sets(report:dict, sets:list, chemprop:bool) -> dict:
    "`--update`: the full results with the rows of `sets` replaced by this run's and every other set's rows kept as they were measured (same protocol required)."
    old = json.loads((RESULTS/f'{NAME}.json').read_text())
    same = ('seeds', 'epochs', 'batch_size', 'lr', 'models', 'chemprop')
    if old['mode'] != 'full' or report['mode'] != 'full' or any(old['protocol'][k] != report['protocol'][k] for k in same):
        sys.exit(f"benchmarks/{NAME}.py --update: the saved full run used another protocol ({', '.join(same)} must match); run the full benchmark instead")
    rows = [r for r in old['rows'] if r['dataset'] not in sets] + report['rows']
    rows.sort(key=lambda r: (list(SETS).index(r['dataset']), list(MODELS).index(r['model'])))
    updates = old.get('updates', []) + [dict(date=report['date'], command=report['command'], sets=sets, duration_s=report['duration_s'])]
    return {**report, 'command': old['command'], 'date': old['date'], 'duration_s': old['duration_s'], 'updates': updates, 'rows': rows,
            'protocol': {**report['protocol'], 'sets': {s: SETS[s] for s in SETS if any(r['dataset'] == s for r in rows)}},
            'targets': targets(rows, [s for s in SETS if any(r['dataset'] == s for r in rows)], chemprop)}


def has_chemprop(python:str) -> str:
    "'' if `python` can import chemprop and lightning, else the reason why not."
    out = subprocess.run([python, '-c', 'import chemprop, lightning'], capture_output=True, text=True, check=False)
    return '' if out.returncode == 0 else (out.stderr.strip().splitlines() or ['unknown error'])[-1]


def main(args):
    mode = 'quick' if args.quick else 'full'
    sets = QUICK_SETS if args.quick else list(SETS)
    if args.sets: sets = args.sets
    seeds = SEEDS[mode] if args.seeds is None else args.seeds
    epochs = args.epochs or EPOCHS[mode]
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    from molnb.data import MOLECULENET
    missing = [MOLECULENET[s]['file'] for s in sets if not (data/MOLECULENET[s]['file']).is_file()]
    if missing: sys.exit(f"benchmarks/{NAME}.py: MoleculeNet CSVs {missing} not found in {data}; set MOLNB_DATA to the folder holding them")
    models = [m for m in MODELS if not (args.no_chemprop and MODELS[m]['library'] == 'chemprop')]
    chemprop_python = args.chemprop_python or os.environ.get('MOLNB_CHEMPROP_PYTHON') or sys.executable
    if not args.no_chemprop and (why := has_chemprop(chemprop_python)):
        sys.exit(f"benchmarks/{NAME}.py: chemprop cannot be imported by {chemprop_python} ({why}). Install it (pip install \"molnb[bench]\", "
                 f"or into a virtual environment named with --chemprop-python / $MOLNB_CHEMPROP_PYTHON), or pass --no-chemprop")
    started = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for s in sets:
        log(f"{s}: {len(seeds)} seed(s) x {len(models)} models x {epochs} epochs")
        rows += measure_set(s, models, seeds, epochs, data, chemprop_python)
    report = dict(command=command_line(), mode=mode, date=started.strftime('%Y-%m-%d %H:%M UTC'), machine=machine_info(rows),
                  protocol=dict(sets={s: SETS[s] for s in sets}, seeds=seeds, epochs=epochs, batch_size=BATCH_SIZE, lr=LR,
                                models={m: MODELS[m] for m in models}, chemprop=not args.no_chemprop,
                                chemprop_python=None if args.no_chemprop else chemprop_python),
                  rows=rows, targets=targets(rows, sets, not args.no_chemprop))
    report['duration_s'] = round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), 1)
    if args.update: report = keep_other_sets(report, sets, not args.no_chemprop); report['updates'][-1]['why'] = args.why
    report['protocol']['note'] = budget_note(report)
    md, js = write_results(report, args.quick)
    print(markdown(report))
    for t in report['targets']:
        print(f"{('met   ' if t['met'] else 'MISSED') if t['value'] is not None else 'n/a   '}  {t['name']}: {t['value']} (wanted {t['target']})")
    print(f"wrote {md.relative_to(REPO)} and {js.relative_to(REPO)} in {report['duration_s']:.0f}s")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='esol and bbbp, seed 0, 5 epochs (also the smoke test)')
    ap.add_argument('--no-chemprop', action='store_true', help='run the molnb models only (targets are then not measured)')
    ap.add_argument('--chemprop-python', help='interpreter that has chemprop 2.3.1 (default $MOLNB_CHEMPROP_PYTHON, else this one)')
    ap.add_argument('--epochs', type=int, help=f"epochs for every model (default {EPOCHS['full']} full, {EPOCHS['quick']} quick)")
    ap.add_argument('--seeds', type=int, nargs='+', help='seeds (default 0 1 2 full, 0 quick)')
    ap.add_argument('--sets', nargs='+', choices=list(SETS), help='sets (default all five full, esol and bbbp quick)')
    ap.add_argument('--update', action='store_true', help='with --sets: re-measure those sets and keep the other rows of the saved full results (same protocol)')
    ap.add_argument('--why', help='with --update: why the sets were re-measured (written in the report)')
    ap.add_argument('--report', action='store_true', help='train nothing: write property.md again from the saved property.json')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.update and (args.quick or not args.sets): ap.error('--update re-measures the sets named with --sets in the full results')
    if args.child: child_main(args.child)
    elif args.report:  # train nothing: the markdown again from the saved full JSON (after a change of the report's wording)
        saved = json.loads((RESULTS/f'{NAME}.json').read_text()); write_results(saved, False); print(markdown(saved))
    else: main(args)
