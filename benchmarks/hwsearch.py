#!/usr/bin/env python
"""Hardware-aware search benchmark (molnb.hwsearch): does one weight-sharing super-network rank, choose and export
structures as well as training each structure alone would, and at what cost?

    python benchmarks/hwsearch.py                    # full: esol and bbbp (cached; run again to continue)
    python benchmarks/hwsearch.py --stages train     # only the training runs (any time: they measure no latency)
    python benchmarks/hwsearch.py --stages measure   # latencies, budgets and predictor (on a quiet machine), then the report
    python benchmarks/hwsearch.py --quick            # a smoke test: 300 esol molecules, a tiny space, few epochs

Protocol.
- Sets: esol (random 80/10/10 split, seed 0; RMSE) and bbbp (balanced scaffold split, seed 0: molnb's plain scaffold
  split, before its ties went in deepchem's order, left bbbp's parts a single class; ROC-AUC), molnb's splits.
- Search space: `SearchSpace()`'s default, 80 GIN structures (width 64-256, 2-5 layers, mean or max readout, head 64 or
  128). Every model, super-network or alone, trains with molnb's defaults: AdamW lr 1e-3, batch 64, 50 epochs, the
  weights of the best validation epoch.
- Super-network: `SupernetTask(random=2, distill=False)` (sandwich rule, every structure on the labels), seed 0;
  `--distill` runs the same with in-place distillation from the largest (results in `hwsearch.distill.md`). On esol
  (one seed, 50 epochs) distillation made inherited weights much worse: test RMSE 0.87-0.89 for three smaller
  structures against 0.59-0.62 on the labels, the largest 0.62 against 0.52; 150 epochs narrowed it (0.65-0.72).
  A structure's
  inherited-weight metric is that of `extract(supernet.calibrate(a, train), a)`: batch-norm statistics recalibrated on
  1,024 training molecules.
- Ranking: 20 structures drawn at random (seed 0; the largest and the smallest included), each trained alone from
  scratch with seeds 0 and 1. Kendall tau between inherited-weight and from-scratch test metrics, averaged over the two
  seeds, against the noise ceiling: tau between the two from-scratch seeds. Interval: 2,000 bootstrap resamples of the
  structures.
- Search efficiency: the cpu-1 budget is the median cpu-1 latency of the 20 structures; the grid's best is the
  from-scratch structure (seed 0) with the best validation metric within the budget; the method's choice is
  `select(index, 'cpu-1', budget, margin=0)` over all 80 structures by inherited-weight validation metric (no
  headroom: the grid's criterion), its test metric with the inherited weights (no retraining), refined for 10 epochs
  (`refine`, lr 3e-4, as `molnb search --refine 10` exports it) and retrained alone from scratch. Cost: super-network
  training plus the inherited-weight evaluation of all 80 structures (plus the refinement or retraining), against the
  20 from-scratch trainings (latency timing, which both need, left out of both), each as its epochs times one epoch's
  seconds, every structure's epoch and the super-network's timed side by side on a quiet machine (the runs' own
  wall-clock seconds are inflated by whatever else ran beside them).
- Samplers: NSGA-II against random search, 20 trials each, 5 seeds, over the measured index: the best validation metric
  found within the cpu-1 budget.
- Latency: one batch of 64 validation molecules, 3 warm-up runs, median of 15. Budget compliance: per chip, budget =
  the median latency over the index; the chosen structure's exported folder is timed again in a fresh process. Latency
  predictor: fitted on half of the structures (seed 0), share within +-10 % on the other half, per chip; its ceiling, the
  share of 10 held-out structures whose second timing is within 10 % of the first.
- Payoff: on the cpu-1 Pareto front (validation), the fastest structure at least 2x faster than the largest that loses
  at most 1 point (ROC-AUC 0.01, or 1 % of RMSE) of test metric.
Full-mode runs are kept in `benchmarks/runs/hwsearch-full-<digest of the settings but the sets>.jsonl` (`common.RunLog`,
one line per run keyed by kind, set, split, structure and seed; the measured index inside its run), so they outlive the
machine; super-network weights and exported models stay in `$MOLNB_CACHE/bench/` (a new machine trains the
super-network again before measuring). Quick runs stay in `$MOLNB_CACHE`.
"""
from common import RunLog, command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, datetime, json, os, subprocess, sys, time
from pathlib import Path

NAME = 'hwsearch'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
MODES = {'full': dict(sets={'esol': 'random', 'bbbp': 'balanced_scaffold'}, epochs=50, structures=20, seeds=[0, 1], space=None, n=None,
                      trials=20, search_seeds=[0, 1, 2, 3, 4], repeats=15, distill=False, refine=10),
         'quick': dict(sets={'esol': 'random'}, epochs=3, structures=4, seeds=[0, 1], n=300, trials=6, search_seeds=[0, 1], repeats=5, distill=False, refine=2,
                       space=dict(hidden=[16, 32], layers=[1, 2], pool=['mean', 'max'], head_hidden=[16]))}
BATCH, LR, LATENCY_BATCH, BOOTSTRAP = 64, 1e-3, 64, 2000


# ---------------------------------------------------------------- data and runs
def data(name:str, split:str, n:int|None):
    "Train, validation and test GraphSets of a MoleculeNet set."
    from molnb.data import load_moleculenet, split as make_split
    from molnb.featurize import featurize
    ds = load_moleculenet(name, quiet=True)
    if n: ds = ds.subset(range(min(n, len(ds))))
    sp = make_split(ds, 'scaffold', seed=0, balanced=True) if split == 'balanced_scaffold' else make_split(ds, split, seed=0)
    return [featurize(d, quiet=True) for d in sp.apply(ds)]


def space_of(s):
    from molnb.hwsearch import SearchSpace
    return SearchSpace(**s['space']) if s['space'] else SearchSpace()


def ranked_structures(space, k:int) -> list:
    "k structures drawn at random (seed 0), the largest and the smallest included."
    import numpy as np
    archs, ends = space.archs(), [space.largest(), space.smallest()]
    rest = [a for a in archs if a not in ends]
    return ends + [rest[i] for i in np.random.default_rng(0).choice(len(rest), min(k, len(archs)) - 2, replace=False)]


def scratch_run(parts, a, seed:int, epochs:int) -> dict:
    "Structure `a` trained alone from scratch: validation and test metrics of its best epoch, seconds."
    import torch
    from molnb.hwsearch import arch_config
    from molnb.models import ModelConfig, PropertyModel
    from molnb.train import Trainer, default_monitor
    tr, va, te = parts
    torch.manual_seed(seed)
    m = PropertyModel(arch_config(ModelConfig(n_tasks=len(tr.targets), task=tr.task), a))
    res = Trainer(m, tr, va, te, epochs=epochs, batch_size=BATCH, lr=LR, seed=seed, quiet=True).fit()
    metric = default_monitor(tr, tr.task)
    return dict(valid=res.valid[metric], test=res.test[metric], seconds=res.seconds, metric=metric)


def supernet_run(parts, space, epochs:int, distill:bool, folder:Path) -> dict:
    "The super-network trained by the sandwich rule (seed 0), saved in `folder`."
    import torch
    from molnb.hwsearch import SuperNet, SupernetTask
    from molnb.models import ModelConfig
    from molnb.train import Trainer
    tr, va, _ = parts
    torch.manual_seed(0)
    sn = SuperNet(space, ModelConfig(n_tasks=len(tr.targets), task=tr.task))
    res = Trainer(sn, tr, va, task=SupernetTask(random=2, distill=distill, seed=0), epochs=epochs, batch_size=BATCH, lr=LR, seed=0, quiet=True).fit()
    sn.save(folder)
    return dict(seconds=res.seconds, best_epoch=res.best_epoch)


def inherited(sn, parts, archs) -> dict:
    "Per structure: validation and test metrics with inherited (recalibrated) weights, and the seconds it took."
    from molnb.hwsearch import extract
    from molnb.train import default_monitor, evaluate
    tr, va, te = parts
    metric, out = default_monitor(tr, tr.task), {}
    for a in archs:
        t0 = time.perf_counter()
        m = extract(sn.calibrate(a, tr), a)
        out[a.key] = dict(valid=evaluate(m, va)[metric], test=evaluate(m, te)[metric], seconds=time.perf_counter() - t0)
    return out


def epoch_seconds(parts, model, task=None, tries:int=2) -> float:
    "Seconds of one training epoch (with its validation) of `model`, the fastest of `tries`: the quiet-machine cost per epoch."
    import copy
    from molnb.train import Trainer
    tr, va, _ = parts
    return min(Trainer(copy.deepcopy(model), tr, va, task=task, epochs=1, batch_size=BATCH, lr=LR, seed=0, quiet=True).fit().seconds for _ in range(tries))


def costs_run(name:str, split:str, parts, space, sn, chosen:str, ranked:list) -> dict:
    "Per-epoch seconds of every grid structure, of the chosen one and of the super-network, and the inherited-weight evaluation, timed side by side (a quiet machine)."
    from molnb.hwsearch import Arch, SupernetTask, arch_config
    from molnb.models import ModelConfig, PropertyModel
    tr = parts[0]
    base = ModelConfig(n_tasks=len(tr.targets), task=tr.task)
    per = {k: epoch_seconds(parts, PropertyModel(arch_config(base, Arch.parse(k)))) for k in dict.fromkeys(ranked + [chosen])}
    sup = epoch_seconds(parts, sn, SupernetTask(random=2, distill=False, seed=0))
    t0 = time.perf_counter(); inherited(sn, parts, space.archs())
    return dict(kind='costs', set=name, split=split, epoch_seconds=per, supernet_epoch_seconds=sup, inherited_seconds=time.perf_counter() - t0)


def refine_run(sn, parts, a, epochs:int) -> dict:
    "Structure `a` refined (`hwsearch.refine`: trained alone from its inherited weights): validation and test metrics, seconds."
    from molnb.hwsearch import refine
    from molnb.train import default_monitor, evaluate
    tr, va, te = parts
    metric, t0 = default_monitor(tr, tr.task), time.perf_counter()
    m = refine(sn, a, tr, va, epochs=epochs, batch_size=BATCH, seed=0)
    return dict(valid=evaluate(m, va)[metric], test=evaluate(m, te)[metric], seconds=time.perf_counter() - t0, epochs=epochs, metric=metric)


def fresh_latency(folder:Path, chip:str, name:str, split:str, n, repeats:int) -> float:
    "The exported model in `folder` timed on `chip` in a new Python process, on the same batch (the budget-compliance check)."
    code = ("import sys; sys.path.insert(0, sys.argv[6]); import hwsearch as H; from molnb.models import PropertyModel; from molnb.hwsearch import chip_latency;"
            "from molnb.train import collate; va = H.data(sys.argv[3], sys.argv[4], int(sys.argv[5]) or None)[1];"
            "print(chip_latency(PropertyModel.load(sys.argv[1]).eval(), sys.argv[2], collate(va, range(min(H.LATENCY_BATCH, len(va)))), repeats=int(sys.argv[7]))['median_ms'])")
    r = subprocess.run([sys.executable, '-c', code, str(folder), chip, name, split, str(n or 0), str(Path(__file__).parent), str(repeats)],
                       capture_output=True, text=True, env=os.environ.copy())
    if r.returncode: raise RuntimeError(f'fresh-process timing failed: {r.stderr[-2000:]}')
    return float(r.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the two stages
class Cache:
    """Runs of one mode and settings (a `RunLog`: in benchmarks/runs for the full mode) and a folder for super-networks and
    exported models. From-scratch runs are shared by both super-network recipes; the others are tagged with `distill`."""
    def __init__(self, folder:Path, log:RunLog, distill:bool):
        self.folder, self.log, self.distill = folder, log, bool(distill); folder.mkdir(parents=True, exist_ok=True)
    def _tag(self, d:dict) -> dict: return d if d.get('kind') == 'scratch' else dict(d, distill=self.distill)
    @property
    def runs(self) -> list: return [r for r in self.log.runs.values() if r['kind'] == 'scratch' or r.get('distill') == self.distill]
    def get(self, **key):
        key = self._tag(key)
        return next((r for r in self.runs if all(r.get(k) == v for k, v in key.items())), None)
    def add(self, row:dict):
        row = self._tag(row)
        self.log.add(dict(row, key='/'.join(str(row[k]) for k in ('kind', 'set', 'split', 'arch', 'seed') if k in row) + ('/distill' if row.get('distill') else '')))


def supernet_folder(name:str, s:dict, cache:Cache, parts, space) -> Path:
    "The set's trained super-network: trained (and its run kept) when the run log lacks it, trained again when only its weights are gone."
    split = s['sets'][name]
    folder = cache.folder/f"{name}-{split}-supernet{'-distill' if s['distill'] else ''}"
    if not cache.get(kind='supernet', set=name, split=split) or not (folder/'space.json').exists():
        log(f'{name}: training the super-network ({len(space)} structures, {s["epochs"]} epochs)')
        run = dict(kind='supernet', set=name, split=split, **supernet_run(parts, space, s['epochs'], s['distill'], folder))
        if not cache.get(kind='supernet', set=name, split=split): cache.add(run)
    return folder


def train_stage(name:str, s:dict, cache:Cache):
    "Super-network, from-scratch runs and inherited-weight metrics of one set (no latency is measured here)."
    from molnb.hwsearch import SuperNet
    split = s['sets'][name]
    parts, space = data(name, split, s['n']), space_of(s)
    for a in ranked_structures(space, s['structures']):
        for seed in s['seeds']:
            if cache.get(kind='scratch', set=name, split=split, arch=a.key, seed=seed): continue
            log(f'{name}: {a.key} from scratch, seed {seed}')
            cache.add(dict(kind='scratch', set=name, split=split, arch=a.key, seed=seed, **scratch_run(parts, a, seed, s['epochs'])))
    if not cache.get(kind='inherited', set=name, split=split):
        folder = supernet_folder(name, s, cache, parts, space)
        log(f'{name}: inherited-weight metrics of every structure')
        cache.add(dict(kind='inherited', set=name, split=split, metrics=inherited(SuperNet.load(folder), parts, space.archs())))


def measure_stage(name:str, s:dict, cache:Cache):
    "Performance index on this machine's chips, budget compliance in fresh processes, latency predictor, samplers."
    import numpy as np, pandas as pd
    from molnb.hwsearch import LatencyPredictor, SuperNet, chips_here, export_structure, performance_index, search_structures, select, Arch
    split = s['sets'][name]
    if not cache.get(kind='inherited', set=name, split=split): log(f'{name}: train first (--stages train)'); return
    if (m := cache.get(kind='measured', set=name, split=split)):
        if not cache.get(kind='costs', set=name, split=split):
            parts, space = data(name, split, s['n']), space_of(s)
            log(f'{name}: per-epoch costs of the grid, the choice and the super-network')
            cache.add(costs_run(name, split, parts, space, SuperNet.load(supernet_folder(name, s, cache, parts, space)), m['retrained']['arch'],
                                [a.key for a in ranked_structures(space, s['structures'])]))
        return
    parts, space = data(name, split, s['n']), space_of(s)
    sn, chips = SuperNet.load(supernet_folder(name, s, cache, parts, space)), chips_here()
    log(f'{name}: performance index of {len(space)} structures on {chips}')
    t0 = time.perf_counter()
    index = performance_index(sn, None, parts[0], parts[1], chips, batch_size=LATENCY_BATCH, repeats=s['repeats'], quiet=True)
    index_seconds = time.perf_counter() - t0
    compliance = {}
    for c in chips:
        budget = float(index[f'{c}_ms'].median())
        pick = select(index, c, budget)
        out = export_structure(sn, Arch.parse(pick.name), parts[0], cache.folder/f'{name}-{split}-{c}')
        again = fresh_latency(out, c, name, split, s['n'], s['repeats'])
        compliance[c] = dict(budget_ms=budget, structure=pick.name, index_ms=float(pick[f'{c}_ms']), fresh_ms=again, met=again <= budget)
    half = index.sample(frac=0.5, random_state=0)
    predictor = {c: LatencyPredictor(c).fit(half).within(index.drop(half.index)) for c in chips}
    # the predictor's ceiling: how often a second measurement of the same structure lands within 10 % of the first
    again = performance_index(sn, [Arch.parse(k) for k in index.drop(half.index).sample(n=min(10, len(index) - len(half)), random_state=0).index],
                              parts[0], parts[1], chips, batch_size=LATENCY_BATCH, repeats=s['repeats'], quiet=True)
    repeatability = {c: float(np.mean(np.abs(again[f'{c}_ms'] - index.loc[again.index, f'{c}_ms']) <= 0.1 * index.loc[again.index, f'{c}_ms'])) for c in chips}
    ranked = [a.key for a in ranked_structures(space, s['structures'])]
    grid_budget = float(index.loc[ranked, 'cpu-1_ms'].median())
    samplers = {}
    for smp in ('nsga2', 'random'):
        best = []
        for seed in s['search_seeds']:
            _, found = search_structures(sn, parts[0], parts[1], 'cpu-1', trials=s['trials'], sampler=smp, seed=seed, quiet=True, index=index)
            ok = found[found['cpu-1_ms'] <= grid_budget]
            best.append(None if ok.empty else float(ok.value.max() if index.metric.iloc[0] == 'roc_auc' else ok.value.min()))
        samplers[smp] = best
    chosen = select(index, 'cpu-1', grid_budget, margin=0).name  # the choice under the grid's budget, retrained alone: searching with the super-network, deploying a fresh training
    retrained = scratch_run(parts, Arch.parse(chosen), 0, s['epochs'])
    refined = refine_run(sn, parts, Arch.parse(chosen), s['refine'])
    cache.add(dict(kind='measured', set=name, split=split, index=index.reset_index().to_dict('records'), index_seconds=index_seconds, chips=chips, compliance=compliance, predictor=predictor, repeatability=repeatability,
                   grid_budget_ms=grid_budget, samplers=samplers, retrained=dict(arch=chosen, **retrained), refined=dict(arch=chosen, **refined)))


# ---------------------------------------------------------------- summaries
def kendall(a, b) -> float:
    from scipy.stats import kendalltau
    return float(kendalltau(a, b).statistic)


def tau_interval(x, y, rng) -> list:
    "2.5 and 97.5 percentiles of Kendall tau over bootstrap resamples of the structures."
    import numpy as np
    x, y = np.asarray(x), np.asarray(y)
    ts = [kendall(x[i], y[i]) for i in (rng.integers(0, len(x), len(x)) for _ in range(BOOTSTRAP))]
    return [float(v) for v in np.nanpercentile(ts, [2.5, 97.5])]


def summarise_set(name:str, s:dict, cache:Cache) -> dict|None:
    "Ranking, efficiency, compliance, predictor, samplers and payoff of one set, from the cached runs."
    import numpy as np, pandas as pd
    from molnb.train import HIGHER_IS_BETTER
    split = s['sets'][name]
    inh, sup = cache.get(kind='inherited', set=name, split=split), cache.get(kind='supernet', set=name, split=split)
    if not inh: return None
    space = space_of(s)
    ranked = [a.key for a in ranked_structures(space, s['structures'])]
    scratch = {seed: {r['arch']: r for r in cache.runs if r['kind'] == 'scratch' and r['set'] == name and r.get('split') == split and r['seed'] == seed} for seed in s['seeds']}
    have = [k for k in ranked if all(k in scratch[sd] for sd in s['seeds'])]
    metric = next(iter(scratch[s['seeds'][0]].values()))['metric'] if scratch[s['seeds'][0]] else None
    out = dict(set=name, split=split, metric=metric, structures=len(have), of=len(ranked), supernet_seconds=sup['seconds'])
    if len(have) >= 4:
        rng = np.random.default_rng(0)
        inh_t = [inh['metrics'][k]['test'] for k in have]
        sc = {sd: [scratch[sd][k]['test'] for k in have] for sd in s['seeds']}
        out['tau'] = float(np.mean([kendall(inh_t, sc[sd]) for sd in s['seeds']]))
        out['tau_interval'] = tau_interval(inh_t, sc[s['seeds'][0]], rng)
        out['ceiling'] = kendall(sc[s['seeds'][0]], sc[s['seeds'][1]])
        out['ceiling_interval'] = tau_interval(sc[s['seeds'][0]], sc[s['seeds'][1]], rng)
        out['scratch_seconds'] = float(sum(scratch[s['seeds'][0]][k]['seconds'] for k in have))
    m = cache.get(kind='measured', set=name, split=split)
    if m and metric and len(have) == len(ranked):
        higher = HIGHER_IS_BETTER[metric]
        index = pd.DataFrame(m['index']).set_index('arch')
        best = max if higher else min
        grid_ok = [k for k in have if index.loc[k, 'cpu-1_ms'] <= m['grid_budget_ms']]
        grid_pick = best(grid_ok, key=lambda k: scratch[s['seeds'][0]][k]['valid'])
        from molnb.hwsearch import select, pareto_front
        pick = select(index, 'cpu-1', m['grid_budget_ms'], margin=0).name  # the grid's criterion: latency within the budget
        chosen, grid = inh['metrics'][pick]['test'], scratch[s['seeds'][0]][grid_pick]['test']
        out.update(budget_ms=m['grid_budget_ms'], grid_pick=grid_pick, grid_test=grid, chosen=pick, chosen_test=chosen,
                   relative_gap=(grid - chosen) / abs(grid) if higher else (chosen - grid) / abs(grid),
                   costs=(cs := cost_terms(s, cache, name, split, have, sup, inh, m, out['scratch_seconds'])), cost_ratio=cs['search'] / cs['grid'],
                   retrained_test=m['retrained']['test'],
                   retrained_gap=(grid - m['retrained']['test']) / abs(grid) if higher else (m['retrained']['test'] - grid) / abs(grid),
                   retrained_cost_ratio=(cs['search'] + cs['retrain']) / cs['grid'],
                   **refined_summary(m, grid, higher, (cs['search'] + cs['refine']) / cs['grid']),
                   compliance=m['compliance'], predictor=m['predictor'], repeatability=m.get('repeatability', {}), samplers=m['samplers'])
        front = index[pareto_front(index, 'cpu-1_ms')]
        big = space.largest().key
        t_big, v_big = index.loc[big, 'cpu-1_ms'], inh['metrics'][big]['test']
        loss = (lambda k: v_big - inh['metrics'][k]['test']) if higher else (lambda k: (inh['metrics'][k]['test'] - v_big) / abs(v_big))
        fast = [k for k in front.index if t_big / index.loc[k, 'cpu-1_ms'] >= 2 and loss(k) <= 0.01]
        out['payoff'] = None if not fast else dict(structure=min(fast, key=lambda k: index.loc[k, 'cpu-1_ms']),
                                                   speedup=float(t_big / index.loc[min(fast, key=lambda k: index.loc[k, 'cpu-1_ms']), 'cpu-1_ms']))
        out['front_fastest_within_1_point'] = out['payoff']
    return out


def refined_summary(m:dict, grid:float, higher:bool, cost_ratio:float) -> dict:
    "The refined choice's test metric, its gap to the grid's best and its cost ratio (search plus refinement against the grid; absent in older runs)."
    if 'refined' not in m: return {}
    r = m['refined']
    return dict(refined_test=r['test'], refined_epochs=r['epochs'], refined_gap=(grid - r['test']) / abs(grid) if higher else (r['test'] - grid) / abs(grid),
                refined_cost_ratio=cost_ratio)


def cost_terms(s:dict, cache, name:str, split:str, have:list, sup:dict, inh:dict, m:dict, scratch_seconds:float) -> dict:
    """Seconds of the search (super-network training and inherited-weight evaluation), of the grid, and of refining and of
    retraining the choice: from per-epoch timings taken side by side on a quiet machine (the `costs` run) when there is
    one, else from the runs' own wall-clock seconds (which a busy or paused machine inflates)."""
    c, chosen, e = cache.get(kind='costs', set=name, split=split), m['retrained']['arch'], s['epochs']
    if c: return dict(source='per-epoch timings on a quiet machine', search=e * c['supernet_epoch_seconds'] + c['inherited_seconds'],
                      grid=e * sum(c['epoch_seconds'][k] for k in have), refine=m.get('refined', {}).get('epochs', 0) * c['epoch_seconds'][chosen],
                      retrain=e * c['epoch_seconds'][chosen])
    return dict(source="the runs' wall-clock seconds", search=sup['seconds'] + sum(v['seconds'] for v in inh['metrics'].values()), grid=scratch_seconds,
                refine=m.get('refined', {}).get('seconds', 0.0), retrain=m['retrained']['seconds'])


def targets_of(sums:list) -> list:
    ts = []
    for r in sums:
        n = r['set']
        if 'tau' in r:
            ts.append(target(f'{n}: Kendall tau, inherited vs from scratch', r['tau'], '>=', 0.6))
            ts.append(target(f'{n}: tau as a share of the noise ceiling ({r["ceiling"]:.2f})', r['tau'] / r['ceiling'] if r['ceiling'] > 0 else float('nan'), '>=', 0.8))
        if 'relative_gap' in r:
            ts.append(target(f'{n}: chosen vs best grid structure under the cpu-1 budget (relative)', r['relative_gap'], '<=', 0.02))
            if 'refined_gap' in r: ts.append(target(f'{n}: chosen and refined vs best grid structure (relative)', r['refined_gap'], '<=', 0.02))
            ts.append(target(f'{n}: search cost / grid cost', r['cost_ratio'], '<=', 0.1))
            met = [c['met'] for c in r['compliance'].values()]
            ts.append(target(f'{n}: chips whose chosen model meets its budget in a fresh process', sum(met) / len(met), '>=', 1.0))
            ts.append(target(f'{n}: latency predictions within 10 % (worst chip)', min(r['predictor'].values()), '>=', 0.95))
            ts.append(target(f'{n}: Pareto structure >= 2x faster than the largest, <= 1 point worse', r['payoff']['speedup'] if r['payoff'] else 0.0, '>=', 2.0))
    return ts


def markdown(rep:dict) -> str:
    f = lambda v, d=3: 'n/a' if v is None else f'{v:.{d}f}'
    out = [f"# Hardware-aware search benchmark ({rep['mode']})", '', f"`{rep['command']}`", '', f"{rep['date']}; {rep['machine']['cpu']}, {rep['machine']['cores']} cores, GPU: {rep['machine']['gpu']}; torch {rep['machine']['versions']['torch']}, onnxruntime {rep['machine']['versions'].get('onnxruntime')}.", '',
           rep['status'], '', 'Protocol: see the docstring of `benchmarks/hwsearch.py`.', '', '## Ranking: inherited weights against training alone', '',
           md_table(['set', 'structures', 'Kendall tau (interval)', 'noise ceiling (interval)', 'share of ceiling'],
                    [[r['set'], f"{r['structures']} of {r['of']}", f"{f(r.get('tau'), 2)} ({f((r.get('tau_interval') or [None])[0], 2)} to {f((r.get('tau_interval') or [None, None])[1], 2)})",
                      f"{f(r.get('ceiling'), 2)} ({f((r.get('ceiling_interval') or [None])[0], 2)} to {f((r.get('ceiling_interval') or [None, None])[1], 2)})",
                      f(r['tau'] / r['ceiling'], 2) if r.get('tau') is not None and r.get('ceiling') else 'n/a'] for r in rep['summary']]), '']
    measured = [r for r in rep['summary'] if 'relative_gap' in r]
    if measured:
        deployed = lambda r: [('inherited weights', r['chosen_test'], r['relative_gap'], r['cost_ratio']),
                              *([(f"refined, {r['refined_epochs']} epochs from inherited", r['refined_test'], r['refined_gap'], r['refined_cost_ratio'])] if 'refined_test' in r else []),
                              ('retrained alone from scratch', r['retrained_test'], r['retrained_gap'], r['retrained_cost_ratio'])]
        out += ['## Choosing under a budget (cpu-1)', '', md_table(['set', 'budget (ms)', 'grid best (from scratch)', 'its test', 'chosen by the super-network', 'deployed as', 'test', 'relative gap', 'cost / grid cost'],
                [[r['set'], f(r['budget_ms'], 2), r['grid_pick'], f(r['grid_test']), r['chosen'], how, f(t), f(g), f(c, 2)] for r in measured for how, t, g, c in deployed(r)]), '',
                'The chosen structure is deployed three ways: with its inherited weights; refined (`hwsearch.refine`: trained alone from the inherited weights at lr 3e-4, '
                'keeping them if no epoch beats them on validation); and trained alone from scratch (seed 0, the settings of the grid), using the super-network for the search only. '
                'Cost: super-network training and inherited-weight evaluation, plus the refinement or the retraining, against the grid\'s 20 from-scratch trainings; '
                + '; '.join(f"{r['set']}: from {r['costs']['source']}" for r in measured) + '.', '',
                '## Budget compliance (fresh process) and latency predictor', '',
                md_table(['set', 'chip', 'budget (ms)', 'chosen', 'index (ms)', 'fresh process (ms)', 'met', 'predictor within 10 %', 'second measurement within 10 %'],
                         [[r['set'], c, f(v['budget_ms'], 2), v['structure'], f(v['index_ms'], 2), f(v['fresh_ms'], 2), 'yes' if v['met'] else '**no**', f(r['predictor'][c], 2),
                           f(r['repeatability'].get(c), 2)] for r in measured for c, v in r['compliance'].items()]), '',
                'The last column re-times 10 held-out structures in the same process: the share within 10 % of their first timing bounds what any predictor can reach here.', '',
                '## NSGA-II against random search (same trials, best validation metric found within the cpu-1 budget)', '',
                md_table(['set', 'sampler', 'per seed', 'mean'], [[r['set'], k, ', '.join(f(x) for x in v), f(sum(x for x in v if x is not None) / max(1, sum(x is not None for x in v)))]
                                                             for r in measured for k, v in r['samplers'].items()]), '',
                '## Payoff', '', '\n'.join(f"- {r['set']}: " + (f"{r['payoff']['structure']} is {r['payoff']['speedup']:.1f}x faster than the largest on cpu-1, within 1 point of its test metric."
                                                              if r['payoff'] else 'no Pareto structure is 2x faster than the largest within 1 point.') for r in measured), '']
    out += ['## Targets', '', targets_table(rep['targets']), '']
    return '\n'.join(out)


def main(args):
    import torch, molnb
    from molnb.core import cache_dir, cache_key
    mode = 'quick' if args.quick else 'full'
    s = dict(MODES[mode], distill=args.distill)
    os.environ.setdefault('MOLNB_DATA', str(DEFAULT_DATA))
    torch.set_num_threads(1)  # training runs: small graphs, one thread is faster than two that contend; chips set their own threads
    digest = cache_key(json.dumps({k: v for k, v in s.items() if k not in ('sets', 'distill', 'refine')}, sort_keys=True), BATCH, LR, LATENCY_BATCH)[:10]  # runs are keyed by set, split (and the recipe)
    name = f'hwsearch-{mode}-{digest}'
    cache = Cache(cache_dir()/'bench'/name, RunLog(name) if mode == 'full' else RunLog('runs', cache_dir()/'bench'/name), s['distill'])
    for name in s['sets']:
        if 'train' in args.stages: train_stage(name, s, cache)
        if 'measure' in args.stages: measure_stage(name, s, cache)
    sums = [x for x in (summarise_set(n, s, cache) for n in s['sets']) if x]
    complete = len(sums) == len(s['sets']) and all('relative_gap' in r for r in sums)
    status = 'Every run is in.' if complete else f"**Incomplete: {sum('relative_gap' in r for r in sums)} of {len(s['sets'])} sets fully measured.**"
    import onnxruntime
    rep = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
               machine=machine_info(onnxruntime=onnxruntime.__version__), settings=dict(batch=BATCH, lr=LR, latency_batch=LATENCY_BATCH, **s),
               status=status, summary=sums, targets=targets_of(sums), rows=cache.runs)
    md, js = write_results(NAME + ('.distill' if s['distill'] else ''), rep, markdown(rep), args.quick)
    log(f'wrote {md} and {js}: {status}')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: 300 esol molecules, a tiny space, few epochs')
    ap.add_argument('--distill', action='store_true', help='train the super-network with in-place distillation from the largest structure (the ablation)')
    ap.add_argument('--stages', nargs='+', choices=['train', 'measure'], default=['train', 'measure'], help='what to run before the report (default: both)')
    main(ap.parse_args())
