#!/usr/bin/env python
"""Uncertainty benchmark: which predictions can a chemist trust? molnb's estimators against chemprop's own, on the same splits.

    python benchmarks/uncertainty.py                    # full: esol, freesolv, lipo, bbbp, bace; seeds 0-4; 50 epochs; 5 members (runs kept)
    python benchmarks/uncertainty.py --report           # the report from the runs kept so far, training nothing
    python benchmarks/uncertainty.py --quick            # quick: esol and bbbp, seed 0, 5 epochs, 3 members: a smoke test
    python benchmarks/uncertainty.py --quick --no-chemprop   # the molnb side only (CI, which does not install chemprop)
    python benchmarks/uncertainty.py --jobs chemprop    # only these jobs (molnb, molnb-mve, chemprop): e.g. chemprop's, which a change to molnb leaves valid

Protocol (full mode). Splits as `benchmarks/property.py` makes them with molnb's API: random 80/10/10 for esol, freesolv
and lipo, balanced scaffold 80/10/10 for bbbp and bace, seed s; every row of a set and seed sees the same split.

molnb, at its defaults (`ModelConfig()`: GIN, hidden 128, 4 layers, dropout 0.1; `train()`: 50 epochs, AdamW lr 1e-3,
batch 64, best validation epoch kept): K = 5 models from seeds 100 s + i (`molnb.fit.ENSEMBLE`), trained by the engine
on the training part; `molnb.uncertainty.attach_uncertainty` calibrates on the validation part
- ensemble: the members' mean and spread;
- dropout: MC dropout of the first member, 20 passes (`PASSES`).
Regression sets also get K models with a variance head (`ModelConfig(variance=True)`, trained by the Gaussian NLL;
`fit(..., uncertainty='mve')`), from the same seeds:
- mve: the first of them alone (mean-variance estimation);
- ensemble of mve: all K, the mixture of their Gaussians (Lakshminarayanan et al.'s deep ensemble).
Each estimator is measured on the test part before calibration (the raw spread as a standard deviation; Gaussian 90 %
intervals, mu +- 1.645 sigma; the raw mean probability) and after it (molnb's default for regression: a Student-t fitted
to the validation z-scores, scored under that t, with split-conformal 90 % intervals; beside it, `after (z-scaling)`, the
same draws z-scaled and scored as Gaussians; Platt scaling and conformal 90 % sets for classification), with
`molnb.uncertainty`'s metric code: Spearman(sigma, |error|), NLL, miscalibration area, ENCE, coverage and mean width
(regression); ECE (10 bins),
Brier score, set coverage and size (classification). The same code scores chemprop's predictions.

chemprop 2.3.1 (`--chemprop-python`, or `$MOLNB_CHEMPROP_PYTHON`: it pins its own RDKit, so it lives in a virtual
environment of its own), through its own CLI at its defaults, on the same split files: `chemprop train` with
`--ensemble-size 5` (ensemble), one default model (MC dropout at predict time, chemprop's `--uncertainty-dropout-p` and
sampling size defaults), with `--task-type regression-mve` (MVE) and `regression-evidential` (evidential) for regression;
`chemprop predict --uncertainty-method ensemble|dropout|mve|evidential-total` on the test part, calibrated
on the validation part with `--calibration-method zscaling`. For classification chemprop's calibrated quantity is the
probability itself (`--uncertainty-method classification --calibration-method platt`, which its CLI computes but does not
write: its `PlattCalibrator` is applied to its validation and test predictions instead), of the 5-member ensemble and of
one default model. Its calibrated
standard deviation (or probability) is scored; its conformal methods are not run (molnb's intervals are compared with
their target coverage instead).

Targets (issue 39): molnb's best estimator at least chemprop's best on Spearman and on miscalibration area on 3 of the 3
regression sets; 90 % intervals covering 88-92 % of test molecules on every set (mean over seeds); ECE after calibration
at most 0.05 on both classification sets; the default ensemble costs at most K times one model's training time.
Finished full-mode runs are kept in `benchmarks/runs/uncertainty.jsonl` (committed), quick ones under `$MOLNB_CACHE`.
"""
from common import RunLog, command_line, log, machine_info, md_table, seed_bootstrap, target, targets_table, write_results
import argparse, datetime, json, os, statistics, subprocess, tempfile, time
from pathlib import Path

NAME = 'uncertainty'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
REGRESSION, CLASSIFICATION = ['esol', 'freesolv', 'lipo'], ['bbbp', 'bace']
MODES = {'full': dict(sets=REGRESSION + CLASSIFICATION, seeds=[0, 1, 2, 3, 4], epochs=50, members=5, passes=20),
         'quick': dict(sets=['esol', 'bbbp'], seeds=[0], epochs=5, members=3, passes=10)}
REVISION = 2  # 2: Student-t calibration by default, z-scaling kept beside it (after_z), CPU seconds. Bump when a change alters what a molnb run computes (chemprop's kept runs stay valid)
CHEMPROP_REVISION = 1  # bump when a change alters how chemprop is run or scored
COVERAGE = 0.9
CHEMPROP_METHODS = {'regression': ['ensemble', 'dropout', 'mve', 'evidential'], 'classification': ['ensemble', 'single model']}
REG_METRICS = ['spearman', 'nll', 'miscalibration_area', 'ence', 'coverage', 'width']
CLS_METRICS = ['ece', 'brier', 'coverage', 'set_size']
LOWER_IS_BETTER = {'nll', 'miscalibration_area', 'ence', 'ece', 'brier', 'width', 'set_size', 'rmse'}


# ---------------------------------------------------------------- scoring, shared by both libraries

def point_metric(mu, y, task:str) -> dict:
    from molnb.train import metrics
    import numpy as np
    m = metrics(np.asarray(y)[:, None], np.asarray(mu)[:, None], task)
    return {k: m[k] for k in (('rmse',) if task == 'regression' else ('roc_auc',))}


# ---------------------------------------------------------------- molnb

def molnb_runs(name:str, seed:int, data:Path, cfg:dict, variance:bool=False) -> list:
    "Train K members (with a variance head if asked) on one split, calibrate the estimators on the validation part, score them on the test part."
    import torch
    from property import molnb_split
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train
    from molnb.uncertainty import attach_uncertainty, calibrate, output_samples, assess, labels, spread_scores
    ds, split = molnb_split(name, seed, data)
    gs = [featurize(p, quiet=True) for p in split.apply(ds)]
    mcfg = ModelConfig(n_tasks=len(ds.targets), task=ds.task, variance=variance)
    members, member_s, member_cpu_s = [], [], []
    for i in range(cfg['members']):
        torch.manual_seed(100 * seed + i)
        c = time.process_time()
        res = train(PropertyModel(mcfg), *gs, epochs=cfg['epochs'], seed=100 * seed + i, quiet=True)
        members.append(res.model); member_s.append(float(res.seconds)); member_cpu_s.append(time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
    methods = ['ensemble', 'mve'] if variance else ['ensemble', 'dropout']
    model = attach_uncertainty(members[0], gs[0], gs[1], members[1:], methods)
    calibrate_s, calibrate_cpu_s = time.perf_counter() - t, time.process_time() - c
    y = labels(gs[2])[:, 0]
    rows = []
    for method in methods:
        cal = model.uncertainty[method]
        S = output_samples(model, gs[2], method, cal.draws)
        got = cal.apply(S, COVERAGE)[cal.targets[0]]
        z = {'after_z': assess(calibrate(model, gs[1], method, 'z'), S, y[:, None], COVERAGE)} if ds.task == 'regression' else {}  # z-scaling beside the default Student-t
        rows.append(dict(set=name, seed=seed, task=ds.task, library='molnb', estimator='ensemble of mve' if variance and method == 'ensemble' else method, draws=cal.draws,
                         before=spread_scores(S.mean(0)[:, 0], S.std(0)[:, 0], y, ds.task, COVERAGE), after=assess(cal, S, y[:, None], COVERAGE), **z,
                         calibrator=cal.calibrator, dof=cal.dof, point=point_metric(got['pred'], y, ds.task), member_s=member_s, calibrate_s=calibrate_s,
                         member_cpu_s=member_cpu_s, calibrate_cpu_s=calibrate_cpu_s, n_test=len(y)))
    return rows


# ---------------------------------------------------------------- chemprop, through its own CLI

def chemprop_runs(name:str, seed:int, data:Path, cfg:dict, python:str) -> list:
    "chemprop's estimators on the same split, through `chemprop train` / `chemprop predict` at their defaults."
    import numpy as np, pandas as pd
    from property import molnb_split, write_split
    from molnb.uncertainty import spread_scores
    ds, split = molnb_split(name, seed, data)
    parts = dict(zip(('train', 'valid', 'test'), split.apply(ds)))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d); write_split(d, parts, ds.targets)
        y = np.array([v[0] for v in parts['test'].y], float)
        for method in CHEMPROP_METHODS[ds.task]:
            t = time.perf_counter()
            task_type = {'mve': 'regression-mve', 'evidential': 'regression-evidential'}.get(method, ds.task)
            model_dir = d/f"model-{method.replace(' ', '-')}"
            cmd = [str(Path(python).parent/'chemprop'), 'train', '--data-path', str(d/'train.csv'), str(d/'valid.csv'), str(d/'test.csv'),
                   '--task-type', task_type, '--epochs', str(cfg['epochs']), '--data-seed', str(seed), '--pytorch-seed', str(seed),
                   '--save-dir', str(model_dir), '--num-workers', '0']
            if method == 'ensemble': cmd += ['--ensemble-size', str(cfg['members'])]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            out = d/f"pred-{method.replace(' ', '-')}.csv"
            if ds.task == 'regression':
                predict = ['--uncertainty-method', {'evidential': 'evidential-total'}.get(method, method), '--calibration-method', 'zscaling', '--cal-path', str(d/'valid.csv')]
                subprocess.run(chemprop_predict(python, d/'test.csv', model_dir, out) + predict, check=True, capture_output=True, text=True)
                mu, sd = chemprop_columns(pd.read_csv(out), ds.targets[0])
            else: mu, sd = chemprop_platt(python, d, model_dir, out, ds.targets[0])
            rows.append(dict(set=name, seed=seed, task=ds.task, library='chemprop', estimator=method, after=spread_scores(mu, sd, y, ds.task, COVERAGE),
                             point=point_metric(mu, y, ds.task), seconds=time.perf_counter() - t, n_test=len(y)))
    return rows


def chemprop_predict(python:str, data:Path, model_dir:Path, out:Path) -> list:
    "`chemprop predict` of the models in `model_dir` on `data` (an ensemble's members averaged, as its CLI does)."
    return [str(Path(python).parent/'chemprop'), 'predict', '--test-path', str(data), '--model-paths', str(model_dir), '--preds-path', str(out), '--num-workers', '0']


def chemprop_columns(pred, target:str) -> tuple:
    "The prediction and its calibrated standard deviation from chemprop's output CSV (its `_unc` column is the calibrated variance)."
    import numpy as np
    return pred[target].to_numpy(float), np.sqrt(np.maximum(pred[f'{target}_unc'].to_numpy(float), 0))


PLATT = """import sys, numpy as np, pandas as pd, torch
from chemprop.uncertainty.calibrator import PlattCalibrator
valid, vp, tp, target, out = sys.argv[1:]
y = torch.tensor(pd.read_csv(valid)[[target]].to_numpy(float)); p = torch.tensor(pd.read_csv(vp)[[target]].to_numpy(float))
cal = PlattCalibrator().fit(p, torch.nan_to_num(y), torch.isfinite(y))
pd.DataFrame({target: cal.apply(torch.tensor(pd.read_csv(tp)[[target]].to_numpy(float)))[:, 0].numpy()}).to_csv(out, index=False)
"""


def chemprop_platt(python:str, d:Path, model_dir:Path, out:Path, target:str) -> tuple:
    """chemprop's Platt-calibrated test probabilities. Its CLI computes them (`--uncertainty-method classification
    --calibration-method platt`) but writes only the uncalibrated ones, so its own `PlattCalibrator` is fitted here on its
    validation predictions, in its own interpreter."""
    import numpy as np, pandas as pd
    for part in ('valid', 'test'): subprocess.run(chemprop_predict(python, d/f'{part}.csv', model_dir, d/f'{part}-probs.csv'), check=True, capture_output=True, text=True)
    subprocess.run([python, '-c', PLATT, str(d/'valid.csv'), str(d/'valid-probs.csv'), str(d/'test-probs.csv'), target, str(out)], check=True, capture_output=True, text=True)
    p = pd.read_csv(out)[target].to_numpy(float)
    return p, np.zeros_like(p)


# ---------------------------------------------------------------- summary and report

def mean_sd(xs):
    xs = [x for x in xs if x == x]
    return (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0) if xs else (float('nan'), float('nan'))


def summarise(runs:list, sets:list) -> list:
    "One row per set, library, estimator and stage (before/after calibration): each metric's mean and std over seeds."
    rows = []
    for s in sets:
        for lib, est in sorted({(r['library'], r['estimator']) for r in runs if r['set'] == s}):
            rs = sorted((r for r in runs if r['set'] == s and r['library'] == lib and r['estimator'] == est), key=lambda r: r['seed'])
            for stage in ('before', 'after', 'after_z'):
                if stage not in rs[0]: continue
                keys = list(rs[0][stage])
                rows.append(dict(set=s, task=rs[0]['task'], library=lib, estimator=est, stage=stage, seeds=[r['seed'] for r in rs],
                                 **{k: mean_sd([r[stage].get(k, float('nan')) for r in rs]) for k in keys},
                                 **{f'point_{k}': mean_sd([r['point'][k] for r in rs]) for k in rs[0]['point']},
                                 per_seed={k: [r[stage].get(k) for r in rs] for k in keys}))
    return rows


def best(rows:list, s:str, lib:str, metric:str) -> dict|None:
    "The calibrated estimator of `lib` with the best mean `metric` on set `s`."
    cands = [r for r in rows if r['set'] == s and r['library'] == lib and r['stage'] == 'after' and metric in r and r[metric][0] == r[metric][0]]
    if not cands: return None
    return (min if metric in LOWER_IS_BETTER else max)(cands, key=lambda r: r[metric][0])


def comparisons(rows:list, sets:list) -> list:
    "Per regression set and metric: molnb's best against chemprop's best, with the paired seed-bootstrap interval (better positive)."
    out = []
    for s in [s for s in sets if s in REGRESSION]:
        for metric in ('spearman', 'miscalibration_area'):
            a, b = best(rows, s, 'molnb', metric), best(rows, s, 'chemprop', metric)
            if a is None or b is None: continue
            sign = -1 if metric in LOWER_IS_BETTER else 1
            pairs = [(x, z) for sa, x in zip(a['seeds'], a['per_seed'][metric]) for sb, z in zip(b['seeds'], b['per_seed'][metric]) if sa == sb]
            diffs = [sign * (x - z) for x, z in pairs]
            out.append(dict(set=s, metric=metric, molnb=a['estimator'], chemprop=b['estimator'], molnb_value=a[metric][0], chemprop_value=b[metric][0],
                            diff=statistics.fmean(diffs) if diffs else float('nan'), interval=seed_bootstrap(diffs), met=bool(diffs) and statistics.fmean(diffs) >= 0))
    return out


def cost_ratio(runs:list) -> float:
    "The default ensemble's cost (its members' training and the calibration) over K times one model's training (the members' median), the worst over runs; in CPU seconds where kept (a paused or shared run inflates wall seconds)."
    rs = [r for r in runs if r['library'] == 'molnb' and r['estimator'] == 'ensemble']
    def ratio(r):
        m, c = (r['member_cpu_s'], r['calibrate_cpu_s']) if 'member_cpu_s' in r else (r['member_s'], r['calibrate_s'])
        return (sum(m) + c) / (len(m) * statistics.median(m))
    return max(map(ratio, rs), default=float('nan'))


def targets(rows:list, comps:list, runs:list, sets:list) -> list:
    ts = []
    reg = [s for s in sets if s in REGRESSION]
    for metric in ('spearman', 'miscalibration_area'):
        cs = [c for c in comps if c['metric'] == metric]
        ts.append(target(f"molnb's best at least chemprop's best on {metric} (regression sets)", sum(c['met'] for c in cs) if cs else None, '>=', len(reg),
                         '' if cs else 'no chemprop runs'))
    for s in sets:
        r = next((r for r in rows if r['set'] == s and r['library'] == 'molnb' and r['estimator'] == 'ensemble' and r['stage'] == 'after'), None)
        if r: ts += [target(f'{s}: 90 % conformal coverage of the ensemble, at least', r['coverage'][0], '>=', 0.88),
                     target(f'{s}: 90 % conformal coverage of the ensemble, at most', r['coverage'][0], '<=', 0.92)]
        if s in CLASSIFICATION:
            e = best(rows, s, 'molnb', 'ece')
            if e: ts.append(target(f"{s}: ECE after calibration (molnb's best, {e['estimator']})", e['ece'][0], '<=', 0.05))
    ts.append(target('ensemble cost over K x one model (worst run)', cost_ratio(runs), '<=', 1.0 + 0.05, 'members + calibration, CPU seconds'))
    return ts


STAGES = {'before': 'before', 'after': 'after', 'after_z': 'after (z-scaling)'}
def fmt(v, d=3): return '' if v is None or v != v else f'{v:.{d}f}'


def markdown(rep:dict) -> str:
    rows = rep['rows']
    lines = [f"# Uncertainty: molnb's estimators against chemprop's ({rep['mode']} mode)", '',
             f"- Command (from the repository root): `{rep['command']}`", f"- Date: {rep['date']}; machine: {rep['machine']['cpu']}, {rep['machine']['cores']} cores",
             f"- Sets {rep['sets']}, seeds {rep['seeds']}, {rep['epochs']} epochs, {rep['members']} members; runs: {len(rep['runs'])}",
             '', rep['status'], '', 'Protocol: see the docstring of `benchmarks/uncertainty.py`. Mean ± std over the seeds in; **after** = calibrated on the validation part.', '']
    for task, metrics in (('regression', REG_METRICS), ('classification', CLS_METRICS)):
        rs = [r for r in rows if r['task'] == task]
        if not rs: continue
        pm = 'point_rmse' if task == 'regression' else 'point_roc_auc'
        lines += [f'## {task.capitalize()}', '', md_table(['set', 'library', 'estimator', 'stage', 'seeds', pm[6:]] + metrics,
                  [[r['set'], r['library'], r['estimator'], STAGES[r['stage']], len(r['seeds']), f"{fmt(r[pm][0])} ± {fmt(r[pm][1])}" if pm in r else '']
                   + [f"{fmt(r[m][0])} ± {fmt(r[m][1])}" if m in r else '' for m in metrics] for r in rs]), '']
    if rep['comparisons']:
        lines += ['## molnb against chemprop (regression; paired over seeds, better positive, seed-bootstrap 95 % interval)', '',
                  md_table(['set', 'metric', 'molnb best', 'chemprop best', 'molnb', 'chemprop', 'difference (95 % interval)'],
                           [[c['set'], c['metric'], c['molnb'], c['chemprop'], fmt(c['molnb_value']), fmt(c['chemprop_value']),
                             f"{fmt(c['diff'])} ({fmt(c['interval'][0])} to {fmt(c['interval'][1])})"] for c in rep['comparisons']]), '']
    lines += ['## Targets', '', targets_table(rep['targets']), '']
    return '\n'.join(lines)


# ---------------------------------------------------------------- main

def run_key(lib:str, s:str, seed:int, cfg:dict) -> str:
    "A kept run's key: the job, set, seed and settings, and the revision of the code it depends on (chemprop's runs do not depend on molnb's)."
    return f"{lib}|{s}|{seed}|e{cfg['epochs']}|k{cfg['members']}|r{CHEMPROP_REVISION if lib == 'chemprop' else REVISION}"


def job_names(s:str, chemprop) -> list:
    "The runs kept for set `s`: molnb's ensemble and dropout, its variance-head models (regression), and chemprop's (when it is there)."
    return ['molnb'] + (['molnb-mve'] if s in REGRESSION else []) + (['chemprop'] if chemprop else [])

def main(args):
    import torch
    from molnb.core import cache_dir
    mode = 'quick' if args.quick else 'full'
    cfg = dict(MODES[mode])
    sets, seeds = args.sets or cfg['sets'], list(range(args.seeds)) if args.seeds else cfg['seeds']
    torch.set_num_threads(args.threads)
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    if not all((data/f'{s}.csv').exists() for s in sets): raise SystemExit(f"MoleculeNet CSVs not found in {data}: set MOLNB_DATA to the folder holding them")
    keep = RunLog(NAME) if mode == 'full' else RunLog(f"{NAME}-quick", cache_dir()/'bench')
    python = None if args.no_chemprop else (args.chemprop_python or os.environ.get('MOLNB_CHEMPROP_PYTHON'))
    t0 = time.perf_counter()
    for seed in seeds:  # every set's seed 0 first: a report made part-way covers every set
        for s in sets:
            for lib in job_names(s, python):
                job = {'molnb': lambda: molnb_runs(s, seed, data, cfg), 'molnb-mve': lambda: molnb_runs(s, seed, data, cfg, variance=True),
                       'chemprop': lambda: chemprop_runs(s, seed, data, cfg, python)}[lib]
                key = run_key(lib, s, seed, cfg)
                if keep.get(key) is not None or args.report or (args.jobs and lib not in args.jobs): continue
                t = time.perf_counter()
                got = job()
                keep.add(dict(key=key, runs=got, seconds=time.perf_counter() - t))
                log(f"{s} seed {seed} {lib}: " + '; '.join(f"{r['estimator']} {json.dumps({k: round(v, 3) for k, v in r['after'].items()})}" for r in got)
                    + f" ({time.perf_counter() - t:.0f} s)")
    chem = python or any(r['key'].startswith('chemprop|') for r in keep.runs.values())
    want = [run_key(lib, s, seed, cfg) for s in sets for seed in seeds for lib in job_names(s, chem)]
    runs = [r for k in want if keep.get(k) is not None for r in keep.get(k)['runs']]  # only runs of the current revisions and settings
    have, expected = sum(keep.get(k) is not None for k in want), len(want)
    status = f"All {expected} runs are in." if have == expected else f"**Incomplete: {have} of {expected} runs (job, set, seed) are in**; run the command again to continue. Rows over fewer seeds are not final."
    rows = summarise(runs, sets)
    comps = comparisons(rows, sets)
    rep = dict(command=command_line(NAME, env=('MOLNB_DATA', 'MOLNB_CHEMPROP_PYTHON')), mode=mode, date=datetime.datetime.now().isoformat(timespec='seconds'),
               machine=machine_info(), status=status, sets=sets, seeds=seeds, epochs=cfg['epochs'], members=cfg['members'], rows=rows, comparisons=comps,
               targets=targets(rows, comps, runs, sets), seconds=time.perf_counter() - t0, runs=runs)
    md, js = write_results(NAME, rep, markdown(rep), args.quick)
    log(f"wrote {md} and {js}")
    print(markdown(rep))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='a smoke test: esol and bbbp, seed 0, 5 epochs, 3 members')
    ap.add_argument('--report', action='store_true', help='the report from the runs kept so far, training nothing')
    ap.add_argument('--sets', nargs='+', choices=REGRESSION + CLASSIFICATION, help='sets to run (default: the mode\'s)')
    ap.add_argument('--seeds', type=int, help='seeds 0..N-1 (default: the mode\'s)')
    ap.add_argument('--threads', type=int, default=2, help='torch threads')
    ap.add_argument('--no-chemprop', action='store_true', help='the molnb side only')
    ap.add_argument('--jobs', nargs='+', choices=['molnb', 'molnb-mve', 'chemprop'], help='run only these jobs (the report still reads every kept run)')
    ap.add_argument('--chemprop-python', help="chemprop 2.3.1's interpreter (default: $MOLNB_CHEMPROP_PYTHON)")
    main(ap.parse_args())
