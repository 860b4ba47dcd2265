#!/usr/bin/env python
"""Replay benchmark: updating a solver on new data without the old data (molnb.replay), against its peers.

    python benchmarks/replay.py            # full: digits, lipo and bbbp; 5 seeds (cached; run again to continue)
    python benchmarks/replay.py --quick    # a smoke test: digits and bbbp, 2 seeds, few epochs

Protocol.
- Scenarios. digits: scikit-learn's bundled handwritten digits, old = 0-4, new = 5-9 (class-incremental; accuracy).
  lipo (regression, RMSE) and bbbp (classification, ROC-AUC): ECFP4 fingerprints (`molnb.featurize.fingerprint_set`,
  2048 bits), the molecules split by scaffold clusters into two disjoint halves (Bemis-Murcko scaffolds, their ECFP4
  clustered in two by k-means, seed 0; a molecule follows its scaffold), the larger cluster old, the other new. Each
  half is split 70/15/15 at random (seed 0) into train, validation and test.
- Solver: an MLP (2 x 128, dropout 0.1), AdamW lr 3e-3, batch 64, 20 epochs, best validation epoch (on the data the
  run is allowed to see: old validation for the provider, old + new for joint training, new validation otherwise). The provider
  trains the solver and a GAN (`molnb.replay.Gan`, 100 epochs, lr 1e-3, batch 32, best MMD) on the old data only.
- Rows, all from the same pretrained solver and with the same budget: naive fine-tuning on the new data; learning
  without forgetting (distillation on the new data, T = 2); public replay (molecules only: as many MOSES molecules as
  new ones, labelled by the pretrained solver and mixed in with their share of the count); generative replay, steps 1-3
  (`replay(..., steps=3)`); the full method, steps 1-5 (`replay`); joint training on old + new (the upper bound).
- Reported: old-test, new-test and their average; forgetting (old-test metric of the pretrained solver minus after,
  sign-adjusted so that positive is worse); the share of the gap between naive fine-tuning and joint training that a
  row closes on the average metric, as a ratio of means over seeds (mean gain over naive / mean gap of joint over naive,
  the denominator reported), with a seed-bootstrap 95 % interval (seeds resampled together for both means).
  The steps 1-3 row is the full run's solver after step 2 (step 3 updates only the generator handed on); its seconds
  are those of steps 2 and 3.
Each seed re-trains the provider's solver and GAN. Runs are cached in `$MOLNB_CACHE/bench/replay-<mode>-<settings and
code digest>.jsonl`: a change to the settings or to `molnb.replay` starts a new cache.
"""
from common import command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, copy, datetime, json, os, statistics, time
from pathlib import Path

NAME = 'replay'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
MODES = {'full': dict(scenarios=['digits', 'lipo', 'bbbp'], seeds=[0, 1, 2, 3, 4], epochs=20, gan_epochs=100, update_epochs=30),
         'quick': dict(scenarios=['digits', 'bbbp'], seeds=[0, 1], epochs=4, gan_epochs=10, update_epochs=3)}
ROWS = ['naive fine-tuning', 'learning without forgetting', 'public replay', 'steps 1-3 (generative replay)', 'steps 1-5 (the method)', 'joint (upper bound)']
METRIC = {'multiclass': 'accuracy', 'classification': 'roc_auc', 'regression': 'rmse'}
BATCH, LR, BOOTSTRAP = 64, 3e-3, 2000


# ---------------------------------------------------------------- scenarios
def thirds(part, seed:int=0) -> tuple:
    "Seeded 70/15/15 train/validation/test of an ArraySet."
    import numpy as np
    p = np.random.default_rng(seed).permutation(len(part)); a, b = int(0.7 * len(p)), int(0.85 * len(p))
    return part[p[:a]], part[p[a:b]], part[p[b:]]


def scaffold_halves(ds) -> tuple:
    "Positions of the two scaffold clusters of a MolDataset (larger first): Murcko scaffolds' ECFP4, k-means with 2 clusters."
    import numpy as np
    from sklearn.cluster import KMeans
    from molnb.data import scaffold_groups
    from molnb.featurize import ecfp
    groups = scaffold_groups(ds.smiles)
    keys = list(groups)
    fp = ecfp(keys)  # acyclic molecules share the empty scaffold: one all-zero point
    lab = KMeans(2, n_init=10, random_state=0).fit_predict(fp)
    halves = [np.array(sorted(i for k, l in zip(keys, lab) if l == c for i in groups[k])) for c in (0, 1)]
    return tuple(sorted(halves, key=len, reverse=True))


def scenario(name:str) -> dict:
    "The old and new parts (train, valid, test ArraySets each), the solver settings and, for molecules, the public pool."
    import numpy as np, torch
    from molnb.featurize import ArraySet, fingerprint_set
    if name == 'digits':
        from sklearn.datasets import load_digits
        d = load_digits()
        pix = ArraySet(d.images.reshape(len(d.images), -1) / 16, d.target, task='multiclass', targets=['digit'], name='digits')
        old, new = pix[pix.y[:, 0] < 5], pix[pix.y[:, 0] >= 5]
        return dict(old=thirds(old), new=thirds(new), outputs=10, classes=[0, 1, 2, 3, 4], task='multiclass', public=None,
                    sizes=(len(old), len(new)))
    from molnb.data import load_moleculenet
    ds = load_moleculenet(name, quiet=True)
    a, b = scaffold_halves(ds)
    fx = fingerprint_set(ds)
    return dict(old=thirds(fx[a]), new=thirds(fx[b]), outputs=fx.y.shape[1], classes=None, task=fx.task, public=True, sizes=(len(a), len(b)))


def public_pool(n:int, exclude:list, seed:int):
    "n MOSES molecules as fingerprints (seeded sample, minus the scenario's own molecules)."
    from molnb.data import load_moses
    from molnb.featurize import fingerprint_set
    return fingerprint_set(load_moses(n, seed=seed, exclude=exclude, quiet=True))


# ---------------------------------------------------------------- one seed of one scenario
def evaluate(solver, sc) -> tuple:
    from molnb.replay import evaluate_solver
    m = METRIC[solver.cfg.task]
    return evaluate_solver(solver, sc['old'][2])[m], evaluate_solver(solver, sc['new'][2])[m]


def run_seed(name:str, sc:dict, seed:int, mode:str) -> list:
    "The provider's solver and GAN, then every row, for one seed: a list of result rows."
    import torch
    from molnb.featurize import ArraySet
    from molnb.replay import Gan, GanTask, Solver, SolverConfig, SolverTask, gan_config, replay, replay_batches, solver_targets
    from molnb.train import MixedBatches, Trainer
    s = MODES[mode]
    (otr, ova, ote), (ntr, nva, nte) = sc['old'], sc['new']
    def fit(model, train, valid, task=None):
        torch.manual_seed(seed)
        return Trainer(model, train, valid, task=task or SolverTask(), epochs=s['epochs'], batch_size=BATCH, lr=LR, seed=seed, quiet=True).fit()
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    solver = Solver(SolverConfig(shape=list(otr.shape), outputs=sc['outputs'], task=sc['task'], classes=sc['classes']))
    fit(solver, otr, ova)
    torch.manual_seed(seed)
    gan = Gan(gan_config(otr))
    Trainer(gan, otr, ova, task=GanTask(seed=seed), epochs=s['gan_epochs'], batch_size=32, lr=1e-3, schedule='constant', seed=seed, quiet=True).fit()
    provider_s = time.perf_counter() - t0
    before = evaluate(solver, sc)
    out = [dict(row='pretrained', old=before[0], new=before[1], seconds=round(provider_s, 1))]
    def add(row, model, t):
        o, n = evaluate(model, sc); out.append(dict(row=row, old=o, new=n, seconds=round(time.perf_counter() - t, 1))); log(f"{name} seed {seed} {row}: old {o:.3f} new {n:.3f}")
    t = time.perf_counter(); m = copy.deepcopy(solver); fit(m, ntr, nva); add('naive fine-tuning', m, t)
    t = time.perf_counter(); m = copy.deepcopy(solver); fit(m, ntr, nva, SolverTask(teacher=solver)); add('learning without forgetting', m, t)
    if sc['public']:
        t = time.perf_counter()
        pool = public_pool(len(ntr), list(otr.smiles) + list(ntr.smiles) + list(ova.smiles) + list(nva.smiles) + list(ote.smiles) + list(nte.smiles), seed)
        pub = ArraySet(pool.x, solver_targets(solver, pool.x), sc['task'], ntr.targets, 'public (MOSES)')
        src = MixedBatches({'new': ntr, 'public': pub}, {'new': len(ntr) / (len(ntr) + len(pub)), 'public': len(pub) / (len(ntr) + len(pub))}, BATCH, seed)
        m = copy.deepcopy(solver); fit(m, src, nva); add('public replay', m, t)
    t = time.perf_counter()  # steps 1-3's solver is the full run's trained solver (the same seeded path up to step 3)
    r5 = replay(solver, gan, ntr, nva, steps=5, epochs=s['epochs'], lr=LR, gan_epochs=s['update_epochs'], seed=seed)
    add('steps 1-3 (generative replay)', r5.trained, t); add('steps 1-5 (the method)', r5.solver, t)
    out[-2]['seconds'] = r5.seconds[2] + r5.seconds[3]
    t = time.perf_counter()
    both = lambda a, b: ArraySet(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]), a.task, a.targets, 'old + new')
    m = copy.deepcopy(solver); fit(m, both(otr, ntr), both(ova, nva)); add('joint (upper bound)', m, t)
    return out


# ---------------------------------------------------------------- summaries
SMALL_GAP = 0.01  # a naive-to-joint gap below this (metric units) leaves the gap-closed ratio to noise

def summarise(runs:list, mode:str) -> tuple:
    import numpy as np
    s, rows, ts = MODES[mode], [], []
    for name in s['scenarios']:
        rs = [r for r in runs if r['scenario'] == name]
        if not rs: continue
        lower = rs[0]['metric'] == 'rmse'
        sign = -1.0 if lower else 1.0
        by = lambda row: {r['seed']: r for r in rs if r['row'] == row}
        pre, naive, joint = by('pretrained'), by('naive fine-tuning'), by('joint (upper bound)')
        seeds = sorted(set(pre) & set(naive) & set(joint))
        avg = lambda r: (r['old'] + r['new']) / 2
        for row in ROWS:
            mine = by(row)
            ks = [k for k in seeds if k in mine]
            if not ks: continue
            gain = np.array([sign * (avg(mine[k]) - avg(naive[k])) for k in ks])  # positive: better than naive
            room = np.array([sign * (avg(joint[k]) - avg(naive[k])) for k in ks])  # the gap joint training opens over naive
            forget = [sign * (pre[k]['old'] - mine[k]['old']) for k in ks]
            naive_forget = [sign * (pre[k]['old'] - naive[k]['old']) for k in ks]
            closed = float(gain.mean() / room.mean()) if room.mean() else float('nan')
            iv = [float('nan')] * 2
            if len(ks) > 1 and room.mean():
                idx = np.random.default_rng(0).integers(0, len(ks), (BOOTSTRAP, len(ks)))
                boot = gain[idx].mean(1) / room[idx].mean(1)
                iv = [float(x) for x in np.percentile(boot[np.isfinite(boot)], [2.5, 97.5])]
            rows.append(dict(scenario=name, row=row, metric=rs[0]['metric'], seeds=len(ks), old=statistics.mean(mine[k]['old'] for k in ks),
                             new=statistics.mean(mine[k]['new'] for k in ks), average=statistics.mean(avg(mine[k]) for k in ks),
                             old_std=statistics.stdev([mine[k]['old'] for k in ks]) if len(ks) > 1 else 0.0,
                             forgetting=statistics.mean(forget), naive_forgetting=statistics.mean(naive_forget), gap=float(room.mean()),
                             gap_closed=closed, gap_interval=iv, seconds=statistics.mean(mine[k]['seconds'] for k in ks)))
        get = lambda row: next((r for r in rows if r['scenario'] == name and r['row'] == row), None)
        full, naive_r, three, pub = get('steps 1-5 (the method)'), get('naive fine-tuning'), get('steps 1-3 (generative replay)'), get('public replay')
        if full is None or naive_r is None: continue
        ts.append(target(f'{name}: share of the naive-to-joint gap the method closes (average metric)', full['gap_closed'], '>=', 0.5,
                         note=f"95 % interval {full['gap_interval'][0]:.2f} to {full['gap_interval'][1]:.2f}"))
        if naive_r['forgetting'] > 0: ts.append(target(f"{name}: the method's forgetting / naive fine-tuning's", full['forgetting'] / naive_r['forgetting'], '<=', 0.5))
        else: ts.append(target(f"{name}: the method's forgetting / naive fine-tuning's", None, '<=', 0.5, note=f"n/a: naive fine-tuning does not forget here ({naive_r['forgetting']:+.3f})"))
        rel = (naive_r['new'] - full['new']) / abs(naive_r['new']) * (-1 if full['metric'] == 'rmse' else 1)
        ts.append(target(f"{name}: new-test metric worse than naive fine-tuning's by (relative)", rel, '<=', 0.05))
        ts.append(target(f'{name}: the method minus steps 1-3 (gap closed)', full['gap_closed'] - three['gap_closed'], '>=', 0.0))
        if pub: ts.append(target(f'{name}: the method minus public replay (gap closed)', full['gap_closed'] - pub['gap_closed'], '>=', 0.0))
    return rows, ts


def markdown(report:dict) -> str:
    out = [f"# Replay benchmark ({report['mode']})", '', f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
           f"Machine: {report['machine']['cpu']}, {report['machine']['usable_cores']} usable cores, {report['machine']['ram_gb']} GB, GPU: {report['machine']['gpu']}  ",
           'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['machine']['versions'].items()), '',
           'Protocol: see the docstring of `benchmarks/replay.py`. ' + report['status'], '']
    for name, info in report['scenarios'].items():
        rs = [r for r in report['summary'] if r['scenario'] == name]
        if not rs: continue
        m = rs[0]['metric']
        out += [f"## {name}: old {info['sizes'][0]:,}, new {info['sizes'][1]:,} samples; test {m}" + (' (lower is better)' if m == 'rmse' else ''), '',
                f"Gap of joint training over naive fine-tuning on the average metric: {rs[0]['gap']:+.3f}." +
                (' **Too small for the share of it a row closes to mean much: naive fine-tuning hardly forgets here.**' if abs(rs[0]['gap']) < SMALL_GAP else ''), '',
                md_table(['row', 'seeds', 'old test', 'new test', 'average', 'forgetting', 'gap closed (95 % interval)', 'seconds'],
                         [[r['row'], r['seeds'], f"{r['old']:.3f} ± {r['old_std']:.3f}", f"{r['new']:.3f}", f"{r['average']:.3f}", f"{r['forgetting']:+.3f}",
                           f"{r['gap_closed']:.2f} ({r['gap_interval'][0]:.2f} to {r['gap_interval'][1]:.2f})", f"{r['seconds']:.0f}"] for r in rs]), '']
    out += ['Anchor: Always Be Dreaming (CIFAR-100, 5 tasks) reached 43.9 % against 16.4 % for fine-tuning and 69.9 % for joint training, closing about half of the gap.', '',
            '## Targets', '', targets_table(report['targets']), '']
    return '\n'.join(out)


def main(args):
    import torch
    from molnb.core import cache_dir
    mode = 'quick' if args.quick else 'full'
    s = MODES[mode]
    os.environ.setdefault('MOLNB_DATA', str(DEFAULT_DATA))
    torch.set_num_threads(1)  # small networks: one thread is faster than two that contend
    import molnb.replay
    from molnb.core import cache_key
    digest = cache_key(json.dumps(s, sort_keys=True), BATCH, LR, Path(molnb.replay.__file__).read_text(), Path(__file__).read_text().split('# ---------------------------------------------------------------- summaries')[0])[:10]
    path = cache_dir()/'bench'/f"replay-{mode}-{digest}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    runs = [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []
    done = {(r['scenario'], r['seed']) for r in runs}
    info = {}
    for name in s['scenarios']:
        sc = scenario(name)
        info[name] = dict(sizes=sc['sizes'])
        for seed in s['seeds']:
            if (name, seed) in done: continue
            rows = run_seed(name, sc, seed, mode)
            new = [dict(r, scenario=name, seed=seed, metric=METRIC[sc['task']]) for r in rows]
            with path.open('a') as f: f.write(''.join(json.dumps(r) + '\n' for r in new))
            runs += new
    summary, ts = summarise(runs, mode)
    want = len(s['scenarios']) * len(s['seeds'])
    have = len({(r['scenario'], r['seed']) for r in runs if r['scenario'] in s['scenarios'] and r['seed'] in s['seeds']})
    status = f"All {want} scenario-seeds are in." if have >= want else f"**Incomplete: {have} of {want} scenario-seeds in.**"
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                  machine=machine_info(), settings=dict(batch=BATCH, lr=LR, **s), status=status, scenarios=info, summary=summary,
                  rows=runs, targets=ts)
    md, js = write_results(NAME, report, markdown(report), args.quick)
    log(f"wrote {md} and {js}: {status}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: digits and bbbp, 2 seeds, few epochs')
    main(ap.parse_args())
