#!/usr/bin/env python
"""Curriculum benchmark: plain training against molnb's curriculum, the CurrMG complexity measures and anti-curriculum.

    python benchmarks/curriculum.py            # full: esol, freesolv, lipo, bbbp, bace, clintox; 5 seeds
    python benchmarks/curriculum.py --quick    # quick: esol and bbbp, 1 seed, few epochs (a smoke test)
    python benchmarks/curriculum.py --variants 'no curriculum' combined 'combined (tuned)' --out curriculum.tuned
                                               # the schedule chosen per set on validation (molnb.curriculum.tune_schedule)
    python benchmarks/curriculum.py --variants 'no curriculum' 'combined (tuned)' --tune-seeds 4 --out curriculum.tuned-s4
                                               # the same search with four seeds per trial instead of two
    python benchmarks/curriculum.py --variants 'no curriculum' combined 'label-balanced (combined)' --out curriculum.balanced
                                               # each label class (or quartile) admitted in proportion
    python benchmarks/curriculum.py --variants 'no curriculum' combined --seeds 10 --weights last --out curriculum.last
                                               # ten seeds, tested with the last epoch's weights (CurrMG's code tests those)

Protocol. Each set is split once (seed 0): random 80/10/10 for esol, freesolv and lipo, balanced scaffold 80/10/10 for
bbbp, bace and clintox. The training part is scored once: structural features for every recipe, and out-of-fold
teachers (3 folds x 2 repeats, trained on the training part only) for the training-result features. Then every
variant trains the same model, with the same epochs, batch size, learning-rate schedule, number of steps and seeds;
the variants differ only in which molecules each step may draw (`molnb.curriculum.CurriculumSampler`). Test metrics
are taken with the weights of the best validation epoch (`--weights last`: of the last epoch; every run records both). Variants of one seed run one after another, their order
rotated each seed.

Reported per set: test metric mean ± std over seeds, relative improvement over no curriculum (sign-adjusted so that
positive is better), and steps to reach the no-curriculum run's best validation metric as a fraction of the steps the
no-curriculum run took to get there (same seed). Over all sets: the mean relative improvement with a 95 % interval
(each set's seeds resampled with replacement, paired with the plain run of the same seed). Writes `benchmarks/results/curriculum.{md,json}` (full) or
`curriculum.quick.{md,json}`. MoleculeNet CSVs come from `$MOLNB_DATA` (default `../shared/data/moleculenet`).
Runs finished so far are kept in `$MOLNB_CACHE/bench/curriculum-<mode>-<settings>.jsonl`, so an interrupted run resumes;
a run saved again (a `--weights last` run of a seed saved before runs recorded the last weights) supersedes the earlier line.
"""
from common import command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, datetime, json, math, os, statistics, time
from pathlib import Path

NAME = 'curriculum'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
SETS = {'esol': 'random', 'freesolv': 'random', 'lipo': 'random', 'bbbp': 'scaffold', 'bace': 'scaffold', 'clintox': 'scaffold'}
QUICK_SETS = ['esol', 'bbbp']
SEEDS = {'full': [0, 1, 2, 3, 4], 'quick': [0]}
EPOCHS = {'full': 30, 'quick': 6}
TEACHER_EPOCHS = {'full': 20, 'quick': 4}
BATCH_SIZE, LR = 64, 1e-3
MODEL = dict(encoder='gin', hidden=64, layers=3)
# variant -> (recipe, order); recipe None = no curriculum. Labels name the recipe, never "default", so that saved runs
# keep their meaning when molnb's DEFAULT_RECIPE changes; the default variant is the one whose recipe is DEFAULT_RECIPE.
VARIANTS = {
    'no curriculum': (None, None),
    'training': ('training', 'easy'),
    'structure': ('structure', 'easy'),
    'combined': ('combined', 'easy'),
    'CurrMG atoms+bonds': ('atoms_bonds', 'easy'),
    'CurrMG Fsp3': ('fsp3', 'easy'),
    'CurrMG MCE-18': ('mce18', 'easy'),
    'anti-curriculum (combined)': ('combined', 'hard'),
    'anti-curriculum (training)': ('training', 'hard'),
    'random order (combined)': ('combined', 'random'),
    'combined (tuned)': ('combined', 'easy'),
    'tuned (recipe + schedule)': ('*', 'easy'),  # '*': the recipe is chosen too, among the easy-first recipes above
    'label-balanced (combined)': ('combined', 'easy'),  # difficulty re-ranked within label strata (BALANCED)
}
# variants whose schedule is chosen per set on validation (molnb.curriculum.tune_schedule, plain training a candidate),
# with seeds of their own (TUNE_SEEDS), before the reported seeds train with it
TUNED = {'combined (tuned)', 'tuned (recipe + schedule)'}
TUNE_TRIALS = {'combined (tuned)': {'full': 10, 'quick': 3}, 'tuned (recipe + schedule)': {'full': 16, 'quick': 3}}
TUNE_SEEDS = (100, 101)
# variants whose difficulty is re-ranked within label strata (`label_strata`), so that every competence admits the same share
# of each class (or label quartile): an easy-first pool otherwise under-represents the labels teachers find hard
BALANCED = {'label-balanced (combined)'}
NOT_A_RECIPE = TUNED | BALANCED  # easy-first variants that change more than the recipe
QUICK_VARIANTS = ['no curriculum', 'combined', 'anti-curriculum (combined)', 'combined (tuned)', 'tuned (recipe + schedule)']
# the training-recipe anti-curriculum, the random-order control and the tuned schedule run on request (--variants)
FULL_VARIANTS = [v for v in VARIANTS if v not in ('anti-curriculum (training)', 'random order (combined)', *NOT_A_RECIPE)]


def searched_recipes() -> list:
    "The recipes a '*' variant chooses among: those of the easy-first variants, molnb's default first (it gets the default schedule's trial)."
    from molnb.scoring import DEFAULT_RECIPE
    rs = list(dict.fromkeys(r for v, (r, o) in VARIANTS.items() if o == 'easy' and r not in (None, '*') and v not in NOT_A_RECIPE))
    return sorted(rs, key=lambda r: r != DEFAULT_RECIPE)


def default_variant() -> str:
    "The variant that trains with molnb's default difficulty recipe, easy first."
    from molnb.scoring import DEFAULT_RECIPE
    return next(v for v, (r, o) in VARIANTS.items() if r == DEFAULT_RECIPE and o == 'easy' and v not in NOT_A_RECIPE)


BASELINE = 'no curriculum'
MIN_IMPROVEMENT = 0.04  # CurrMG reported 4.08 % overall
MAX_STEP_FRACTION = 0.75
BOOTSTRAP = 2000  # resamples for the interval of a variant's mean relative improvement
WEIGHTS = {'best': "the best validation epoch's weights", 'last': "the last epoch's weights"}  # whose test metric a report uses


def positive_int(text:str) -> int:
    "argparse type: an integer of at least 1."
    try: n = int(text)
    except ValueError: raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if n < 1: raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def seeds_for(mode:str, n:int|None) -> list:
    "The reported seeds: SEEDS[mode], or `--seeds N`: 0 .. N-1 (the first N of the default ones, and more beyond them)."
    return SEEDS[mode] if n is None else list(range(n))


def load_runs(path:Path) -> list:
    "The runs saved in `path`, one per (set, variant, seed): a later line supersedes an earlier one."
    runs = {}
    for line in path.read_text().splitlines():
        r = json.loads(line); runs[r['set'], r['variant'], r['seed']] = r
    return list(runs.values())


def done(r:dict, weights:str) -> bool:
    "Whether a saved run serves a report on `weights` (runs saved before the last weights were recorded do not serve 'last')."
    return weights == 'best' or 'test_last' in r


def on_weights(r:dict, weights:str) -> dict:
    "A run whose `test` is the metric with `weights` ('best' or 'last'); the best-validation one is kept as `test_best`."
    return r if weights == 'best' else {**r, 'test': r['test_last'], 'test_best': r['test']}


class LastWeights:
    "Callback: the test metrics of the last epoch's weights, taken before the engine restores the best validation epoch's."
    def __init__(self, test): self.test, self.metrics = test, None
    def on_epoch_end(self, trainer, row):
        if trainer.epoch < trainer.epochs: return
        from molnb.train import evaluate
        self.metrics = evaluate(trainer.model, self.test)


def prepare(name:str, data:Path, teacher_epochs:int) -> dict:
    "Load, split, featurize and score the training part of one set."
    from molnb.data import load_moleculenet, random_split, scaffold_split
    from molnb.featurize import featurize
    from molnb.scoring import complexity_features, training_features
    ds = load_moleculenet(name, root=data, quiet=True)
    split = random_split(ds, seed=0) if SETS[name] == 'random' else scaffold_split(ds, balanced=True, seed=0)
    gs = featurize(ds, quiet=True)
    if len(gs) != len(ds): raise RuntimeError(f"{name}: {len(ds) - len(gs)} molecules failed featurization")
    train, valid, test = split.apply(gs)
    t0 = time.perf_counter()
    table = complexity_features(train, quiet=True)
    t_cx = time.perf_counter() - t0
    table = table.join(training_features(train, folds=3, repeats=2, epochs=teacher_epochs, batch_size=BATCH_SIZE, quiet=True))
    t_tf = time.perf_counter() - t0 - t_cx
    log(f"{name}: {len(train)}/{len(valid)}/{len(test)}, scored in {t_cx:.1f} s (structure) + {t_tf:.0f} s (teachers)")
    return dict(ds=ds, train=train, valid=valid, test=test, table=table, metric=ds.metric, score_seconds=t_cx + t_tf)


def label_strata(gs, bins:int=4):
    "A stratum per molecule of `gs`: for classification the rarest (task, class) it carries; for regression the quartile (`bins`) of its first label."
    import numpy as np
    from molnb.scoring import ecdf_rank
    y = gs.y.numpy().astype(np.float64); y[~gs.y_mask.numpy()] = np.nan
    if gs.task == 'regression': return np.minimum((np.nan_to_num(ecdf_rank(y[:, 0]), nan=0.5) * bins).astype(int), bins - 1)
    freq = {(t, c): np.mean(y[~np.isnan(y[:, t]), t] == c) for t in range(y.shape[1]) for c in (0, 1)}
    out = np.full(len(y), -1)
    for t, c in sorted(freq, key=freq.get, reverse=True): out[y[:, t] == c] = 2 * t + c  # rarest last, so it wins
    return out


def balanced(d, strata):
    "Difficulty re-ranked within each stratum (mid-rank CDF): every competence admits the same share of every stratum."
    import numpy as np
    from molnb.scoring import ecdf_rank
    out = np.empty(len(d))
    for g in np.unique(strata): out[strata == g] = ecdf_rank(d[strata == g])
    return out


def what_differs(variant:str) -> str:
    "What a variant that is not a plain easy-first recipe changes, for the report's notes."
    if variant in TUNED: return ('recipe and schedule' if VARIANTS[variant][0] == '*' else 'schedule') + ' chosen on validation'
    return 'label strata admitted in proportion' if variant in BALANCED else 'control'


def schedule_params(s) -> dict|None:
    "A schedule's searched parameters (c0, p, duration) for the saved runs; None for plain training."
    from molnb.curriculum import TUNE_SPACE
    return None if s is None else {k: getattr(s, k) for k in TUNE_SPACE}


def trials_for(variant:str, mode:str, override:int|None) -> int:
    "Schedule-search trials of a tuned variant: `--tune-trials`, else TUNE_TRIALS."
    return override or TUNE_TRIALS[variant][mode]


def tune_seeds(n:int|None) -> tuple:
    "The seeds each search trial trains with: TUNE_SEEDS, or `--tune-seeds N` of them from the same start."
    if n is None: return TUNE_SEEDS
    if n < 1: raise ValueError(f"--tune-seeds must be at least 1, got {n}")
    return tuple(range(TUNE_SEEDS[0], TUNE_SEEDS[0] + n))


def search(prep:dict, variant:str, epochs:int, trials:int, mode:str='step', seeds:tuple=TUNE_SEEDS) -> dict:
    "Choose `variant`'s schedule (and, for recipe '*', its recipe) on the validation part with `tune_schedule` (`seeds` per trial; plain training a candidate)."
    from molnb.models import ModelConfig
    from molnb.curriculum import tune_schedule
    from molnb.scoring import difficulty
    recipe, order = VARIANTS[variant]
    d = {r: difficulty(prep['table'], r) for r in searched_recipes()} if recipe == '*' else difficulty(prep['table'], recipe)
    t0 = time.perf_counter()
    res = tune_schedule(ModelConfig(**MODEL), prep['train'], prep['valid'], d, n_trials=trials, seeds=seeds,
                        epochs=epochs, batch_size=BATCH_SIZE, order=order, mode=mode, lr=LR, quiet=True)
    return dict(variant=variant, trials=trials, seeds=list(seeds), metric=res.metric, seconds=round(time.perf_counter() - t0, 1),
                schedule=schedule_params(res.schedule), recipe=None if res.schedule is None else (res.difficulty or recipe),
                table=res.trials.to_dict('records'))


def run(prep:dict, variant:str, seed:int, epochs:int, schedule, mode:str='step') -> dict:
    import torch
    from molnb.models import ModelConfig, PropertyModel
    from molnb.curriculum import curriculum_train
    from molnb.scoring import difficulty
    recipe, order = VARIANTS[variant]
    if variant in TUNED:  # the schedule (and recipe) chosen on validation; schedule None = plain training won the search
        schedule, recipe = prep['searched'][variant]
    d = None if recipe is None else difficulty(prep['table'], recipe)
    if variant in BALANCED: d = balanced(d, label_strata(prep['train']))
    torch.manual_seed(seed)
    model = PropertyModel(ModelConfig(**MODEL, n_tasks=len(prep['train'].targets), task=prep['train'].task))
    t0, last = time.perf_counter(), LastWeights(prep['test'])
    res = curriculum_train(model, prep['train'], prep['valid'], prep['test'], difficulty=d, schedule=schedule, order=order or 'easy', mode=mode,
                           epochs=epochs, batch_size=BATCH_SIZE, lr=LR, seed=seed, quiet=True, callbacks=[last])
    m = prep['metric']
    h = res.history
    return dict(variant=variant, seed=seed, metric=m, test=res.test[m], test_last=last.metrics[m], recipe=recipe, schedule=schedule_params(None if d is None else schedule), valid_best=res.valid[m], best_epoch=res.best_epoch,
                seconds=round(time.perf_counter() - t0, 2), steps=int(h.step.iloc[-1]),
                curve=[[int(s), float(v)] for s, v in zip(h.step, h[f'valid_{m}'])])


def curve_steps_to(curve:list, value:float, metric:str):
    "`molnb.curriculum.steps_to` on a saved [[step, valid metric], ...] curve."
    import pandas as pd
    from molnb.curriculum import steps_to
    return steps_to(pd.DataFrame(curve, columns=['step', f'valid_{metric}']), value, metric)


def mean_std(xs:list) -> tuple:
    xs = [x for x in xs if x is not None and x == x]
    if not xs: return float('nan'), float('nan')
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def relative(m, bm, higher:bool):
    "Relative improvement of mean `m` over the baseline mean `bm`, positive when better (works on arrays too)."
    return ((m - bm) if higher else (bm - m)) / abs(bm)


def mean_gain_interval(runs:list, sets:list, variant:str, n:int=BOOTSTRAP, seed:int=0) -> list|None:
    "95 % bootstrap interval of `variant`'s mean (over sets) relative improvement: each set's seeds resampled with replacement, each paired with the baseline's run of the same seed."
    import numpy as np
    rng, per_set = np.random.default_rng(seed), []
    for name in sets:
        rs = [r for r in runs if r['set'] == name]
        base = {r['seed']: r['test'] for r in rs if r['variant'] == BASELINE}
        mine = {r['seed']: r['test'] for r in rs if r['variant'] == variant}
        seeds = sorted(base.keys() & mine.keys())
        if len(seeds) < 2: return None
        idx = rng.integers(0, len(seeds), (n, len(seeds)))
        b, v = np.array([base[k] for k in seeds])[idx].mean(1), np.array([mine[k] for k in seeds])[idx].mean(1)
        per_set.append(relative(v, b, rs[0]['metric'] != 'rmse'))
    return [float(x) for x in np.percentile(np.mean(per_set, axis=0), [2.5, 97.5])] if per_set else None


def summarise(runs:list, sets:list, variants:list) -> tuple:
    "Per set and variant: test mean/std, relative improvement over the baseline, step fractions."
    rows = []
    for name in sets:
        rs = [r for r in runs if r['set'] == name]
        if not rs: continue
        higher = rs[0]['metric'] != 'rmse'
        base = {r['seed']: r for r in rs if r['variant'] == BASELINE}
        bm, bs = mean_std([r['test'] for r in base.values()])
        for v in variants:
            vr = [r for r in rs if r['variant'] == v]
            if not vr: continue
            m, s = mean_std([r['test'] for r in vr])
            rel = relative(m, bm, higher) if bm == bm and bm else float('nan')
            fracs, wins = [], 0
            for r in vr:
                b = base.get(r['seed'])
                if b is None: continue
                wins += (r['test'] > b['test']) if higher else (r['test'] < b['test'])
                b_best = b['valid_best'] if b['valid_best'] == b['valid_best'] else None
                b_steps = curve_steps_to(b['curve'], b_best, r['metric']) if b_best is not None else None
                mine = curve_steps_to(r['curve'], b_best, r['metric']) if b_best is not None else None
                fracs.append(float('inf') if mine is None or not b_steps else mine / b_steps)
            rows.append(dict(set=name, variant=v, metric=rs[0]['metric'], n=len(vr), test_mean=m, test_std=s, baseline_mean=bm,
                             baseline_std=bs, rel_improvement=rel, step_fraction_median=statistics.median(fracs) if fracs else float('nan'),
                             reached=sum(f != float('inf') for f in fracs), paired_wins=int(wins), seconds_mean=statistics.mean(r['seconds'] for r in vr)))
    return rows


def targets(rows:list, sets:list, interval:list|None=None) -> list:
    d = [r for r in rows if r['variant'] == default_variant()]
    rel = statistics.mean(r['rel_improvement'] for r in d) if d else None
    worse = [r['set'] for r in d if (r['test_mean'] - r['baseline_mean']) * (1 if r['metric'] != 'rmse' else -1) < -r['baseline_std']]
    fr = [r['step_fraction_median'] for r in d]
    med = statistics.median(fr) if fr else None
    reached, n = sum(r['reached'] for r in d), sum(r['n'] for r in d)
    never = med is not None and not math.isfinite(med)
    return [target(f'default curriculum ({default_variant()}): mean relative test improvement over no curriculum ({len(d)} sets)', rel, '>=', MIN_IMPROVEMENT,
                   note='' if interval is None else f'seed-bootstrap 95 % interval {interval_text(interval)}'),
            target('default curriculum: sets worse than no curriculum by more than one std', float(len(worse)), '<=', 0,
                   note=', '.join(worse) if worse else ''),
            target("default curriculum: steps to the baseline's best validation metric / baseline's steps (median of sets)",
                   None if never else med, '<=', MAX_STEP_FRACTION,
                   note=f"never: the median set's median run did not reach it; {reached} of {n} runs did" if never else f'{reached} of {n} runs reached it')]


def interval_text(iv) -> str:
    "A 95 % interval (fractions) as '+a to +b %'."
    return '{:+.2f} to {:+.2f} %'.format(*(x * 100 for x in iv))


def fmt(x, f='{:.3f}'): return 'n/a' if x is None or x != x else ('never' if x == float('inf') else f.format(x))


def markdown(report:dict) -> str:
    rows, sets = report['rows'], report['sets']
    out = [f"# Curriculum benchmark ({report['mode']})", '',
           f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
           f"Machine: {report['machine']['cpu']}, {report['machine']['usable_cores']} usable cores, {report['machine']['ram_gb']} GB, GPU: {report['machine']['gpu']}  ",
           'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['machine']['versions'].items()), '',
           f"Model: {report['model']}, {report['epochs']} epochs, batch {BATCH_SIZE}, lr {LR}, cosine schedule; seeds {report['seeds']}; "
           f"test metrics with {WEIGHTS[report.get('weights', 'best')]}. "
           f"Curriculum schedule: {report['competence']}. Teachers for training-result difficulty: 3 folds x 2 repeats, "
           f"{report['teacher_epochs']} epochs, GIN hidden 64, on the training part only.", '',
           '## Targets', '', targets_table(report['targets']), '']
    for name in sets:
        rs = [r for r in rows if r['set'] == name]
        if not rs: continue
        out += [f"## {name} ({SETS[name]} split, test {rs[0]['metric']})", '',
                md_table(['variant', 'test mean ± std', 'relative improvement', "steps to baseline's best (median fraction)", 'reached', 's/run'],
                         [[r['variant'], f"{fmt(r['test_mean'])} ± {fmt(r['test_std'])}", fmt(r['rel_improvement'] * 100, '{:+.2f} %'),
                           fmt(r['step_fraction_median'], '{:.2f}'), f"{r['reached']}/{r['n']}", fmt(r['seconds_mean'], '{:.0f}')] for r in rs]), '']
    out += ['## Mean relative improvement over no curriculum, all sets', '',
            md_table(['variant', 'mean relative improvement', '95 % interval (seeds resampled)', 'sets better', 'runs better than no curriculum, same seed', "median steps fraction"],
                     [[v, fmt(statistics.mean(r['rel_improvement'] for r in vs) * 100, '{:+.2f} %'),
                       interval_text(report['intervals'][v]) if report.get('intervals', {}).get(v) else 'n/a',
                       sum(r['rel_improvement'] > 0 for r in vs),
                       f"{sum(r['paired_wins'] for r in vs)}/{sum(r['n'] for r in vs)}",
                       fmt(statistics.median(r['step_fraction_median'] for r in vs), '{:.2f}')]
                      for v in report['variants'] if v != BASELINE for vs in [[r for r in rows if r['variant'] == v]] if vs]), '']
    if report.get('notes'): out += ['## Notes', ''] + [f'- {n}' for n in report['notes']] + ['']
    return '\n'.join(out)


def main(args):
    import torch
    from molnb.curriculum import Competence
    from molnb.core import cache_dir
    torch.set_num_threads(args.threads)
    mode = 'quick' if args.quick else 'full'
    sets = args.sets or (QUICK_SETS if args.quick else list(SETS))
    variants = args.variants or (QUICK_VARIANTS if args.quick else FULL_VARIANTS)
    seeds, epochs = seeds_for(mode, args.seeds), args.epochs or EPOCHS[mode]
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    comp = Competence(**{k: v for k, v in dict(kind=args.kind, c0=args.c0, p=args.p, duration=args.duration).items() if v is not None})
    if args.encoder: MODEL['encoder'] = args.encoder
    enc = '' if MODEL['encoder'] == 'gin' else f"-{MODEL['encoder']}"
    tseeds = tune_seeds(args.tune_seeds)
    # tuned runs depend on the search's seeds: other search seeds get a cache of their own (plain and fixed-schedule runs can be copied in)
    ts = '' if tseeds == TUNE_SEEDS else f'-ts{len(tseeds)}'
    partial = cache_dir()/'bench'/f'curriculum-{mode}-e{epochs}{enc}-h{MODEL["hidden"]}-{comp.kind}-c{comp.c0}-p{comp.p}-d{comp.duration}{"-" + args.mode if args.mode != "step" else ""}{ts}.jsonl'
    partial.parent.mkdir(parents=True, exist_ok=True)
    saved = load_runs(partial) if partial.exists() and not args.fresh else []
    runs, t0 = list(saved), time.perf_counter()
    search_file = partial.with_name(partial.stem + '-search.jsonl')
    searches = [json.loads(l) for l in search_file.read_text().splitlines()] if search_file.exists() and not args.fresh else []
    log(f"{mode}: sets {sets}, variants {variants}, seeds {seeds}, {epochs} epochs; {len(saved)} runs saved ({partial})")
    for name in sets:
        todo = [(s, v) for s in seeds for v in variants
                if not any(r['set'] == name and r['seed'] == s and r['variant'] == v and done(r, args.weights) for r in runs)]
        if not todo or args.report: continue
        prep = prepare(name, data, args.teacher_epochs or TEACHER_EPOCHS[mode])
        prep['searched'] = {}
        for v in [v for v in variants if v in TUNED]:
            trials = trials_for(v, mode, args.tune_trials)
            found = next((x for x in searches if x['set'] == name and x['variant'] == v and x['trials'] == trials and x['seeds'] == list(tseeds)), None)
            if found is None:
                found = dict(set=name, **search(prep, v, epochs, trials, args.mode, tseeds))
                searches.append(found)
                with search_file.open('a') as f: f.write(json.dumps(found) + '\n')
            sched = found['schedule'] and Competence(**found['schedule'])
            recipe = sched and (found.get('recipe') or VARIANTS[v][0])  # searches saved before recipes were searched name none
            log(f"  {name} {v}: {trials} trials x {len(tseeds)} seeds ({found['seconds']:.0f} s): {sched and (recipe, sched) or 'plain training'}")
            prep['searched'][v] = (sched, recipe)
        for i, s in enumerate(seeds):
            vs = variants[i % len(variants):] + variants[:i % len(variants)]
            for v in vs:
                if (s, v) not in todo: continue
                r = dict(set=name, **run(prep, v, s, epochs, comp, args.mode), score_seconds=prep['score_seconds'])
                old = next((x for x in runs if (x['set'], x['seed'], x['variant']) == (name, s, v)), None)
                if old is not None:  # saved before runs recorded the last weights: the runs are deterministic, so the best-weights metric must agree
                    runs.remove(old)
                    if not math.isclose(old['test'], r['test'], rel_tol=1e-6):
                        log(f"  {name} seed {s} {v}: test {r['test']:.6f} differs from the saved run's {old['test']:.6f}")
                runs.append(r)
                with partial.open('a') as f: f.write(json.dumps(r) + '\n')
                log(f"  {name} seed {s} {v:22s} test {r['metric']} {r['test']:.4f}  ({r['seconds']:.0f} s, elapsed {time.perf_counter() - t0:.0f} s)")
    runs = [on_weights(r, args.weights) for r in runs if r['set'] in sets and r['variant'] in variants and r['seed'] in seeds and done(r, args.weights)]
    expected = len(seeds) * len(variants)
    counts = {name: sum(r['set'] == name for r in runs) for name in sets}
    complete = all(c == expected for c in counts.values())
    rows = summarise(runs, sets, variants)
    intervals = {v: mean_gain_interval(runs, sets, v) for v in variants if v != BASELINE} if BASELINE in variants else {}
    ts = targets(rows, sets, intervals.get(default_variant())) if default_variant() in variants and BASELINE in variants else []
    mean_rel = {v: statistics.mean(r['rel_improvement'] for r in rows if r['variant'] == v)
                for v in variants if v != BASELINE and any(r['variant'] == v for r in rows)}
    recipes = {v: x for v, x in mean_rel.items() if VARIANTS[v][1] == 'easy' and v not in NOT_A_RECIPE}  # easy-first curricula at the default schedule; the rest are controls
    notes, kept = [], []
    if recipes:
        best = max(recipes, key=recipes.get)
        notes.append(f"Best difficulty recipe (easy first) by mean relative improvement: {best} ({recipes[best] * 100:+.2f} %); "
                     f"molnb's default is {default_variant()}." + ''.join(
                         f' {v} ({what_differs(v)}): {x * 100:+.2f} %.' for v, x in mean_rel.items() if v not in recipes))
    for v in [v for v in variants if v in TUNED]:
        trials = trials_for(v, mode, args.tune_trials)
        found = [x for x in searches if x['set'] in sets and x['variant'] == v and x['trials'] == trials and x['seeds'] == list(tseeds)]
        star = VARIANTS[v][0] == '*'
        what = 'the recipe (among ' + ', '.join(searched_recipes()) + ') and the schedule' if star else 'the schedule'
        chosen = [f"{x['set']} " + ('plain training' if x['schedule'] is None else (f"{x['recipe']}, " if star else '')
                                    + 'c0 {c0:.2f}, p {p:.2f}, duration {duration:.2f}'.format(**x['schedule'])) for x in found]
        notes.append(f"{v}: {what} (c0, p, duration) chosen per set on the validation part by "
                     f"`molnb.curriculum.tune_schedule`: {trials} trials (plain training, molnb's default schedule, then Optuna TPE) "
                     f"x seeds {list(tseeds)}, which are not among the reported seeds; the test part was never looked at. "
                     f"Chosen: {'; '.join(chosen)}. Search cost per set: " + ', '.join(f"{x['set']} {x['seconds']:.0f} s" for x in found) + '.')
        kept += found
    if any(intervals.values()):
        notes.append(f"95 % intervals: each set's seeds resampled with replacement ({BOOTSTRAP} times), every curriculum run paired with the "
                     f"plain run of the same seed, the relative improvement averaged over the sets each time; with {len(seeds)} seeds a set they are rough.")
    if args.weights == 'last':
        best_w = summarise([{**r, 'test': r['test_best']} for r in runs], sets, variants)
        notes.append("Test metrics here are those of the last epoch's weights, as CurrMG's published code tests them (its `best_model = model` "
                     "keeps a reference, not a copy). The same runs with the best validation epoch's weights: " + '; '.join(
                         f"{v} {statistics.mean(r['rel_improvement'] for r in best_w if r['variant'] == v) * 100:+.2f} %"
                         for v in variants if v != BASELINE and any(r['variant'] == v for r in best_w)) + '.')
    notes.append(f"The default recipe ({default_variant()}) was chosen after interim results of this benchmark (esol, freesolv and one "
                 "lipo seed), so the numbers carry a selection bias in its favour.")
    if args.report:
        notes.append(f"Written by `--report` from the runs saved in {partial.name} by earlier invocations with the same "
                     "settings (one process, or several with `--sets` splitting the sets between them).")
    notes += args.note or []
    if not complete:
        notes.insert(0, 'INCOMPLETE run (report written from the runs finished so far, `--report`): runs per set out of '
                     f'{expected}: ' + ', '.join(f'{k} {v}' for k, v in counts.items()) + '. Targets are computed over what was run.')
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now().isoformat(timespec='seconds'),
                  machine=machine_info(), sets=sets, variants=variants, seeds=seeds, epochs=epochs, model=MODEL,
                  teacher_epochs=args.teacher_epochs or TEACHER_EPOCHS[mode], weights=args.weights,
                  competence=dict(kind=comp.kind, c0=comp.c0, p=comp.p, duration=comp.duration, rounds=comp.rounds, mode=args.mode), rows=rows, targets=ts,
                  complete=complete, runs_per_set=counts, intervals=intervals, notes=notes, searches=kept, runs=runs)
    md, js = write_results(args.out or NAME, report, markdown(report), args.quick)
    log(f"wrote {md} and {js} in {time.perf_counter() - t0:.0f} s")
    print(markdown(report))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='esol and bbbp, one seed, few epochs')
    ap.add_argument('--sets', nargs='*', choices=list(SETS), help='only these sets')
    ap.add_argument('--variants', nargs='*', choices=list(VARIANTS), help='only these variants')
    ap.add_argument('--seeds', type=positive_int, help=f"seeds 0 .. N-1 (default {len(SEEDS['full'])}; quick {len(SEEDS['quick'])})")
    ap.add_argument('--epochs', type=positive_int, help='override the epochs')
    ap.add_argument('--teacher-epochs', type=positive_int, help='override the teachers\' epochs')
    ap.add_argument('--kind', choices=['root', 'linear', 'step'], help="competence schedule (default molnb's)")
    ap.add_argument('--c0', type=float, help="initial competence (default molnb's)")
    ap.add_argument('--p', type=float, help="power of the root schedule (default molnb's)")
    ap.add_argument('--duration', type=float, help="fraction of the run the curriculum lasts (default molnb's)")
    ap.add_argument('--encoder', choices=['gin', 'gcn', 'gat', 'transformer'], help="the trained model's encoder (default gin; the teachers stay GIN)")
    ap.add_argument('--mode', choices=['step', 'round'], default='step', help='curriculum sampler: admit molecules at every step, or per round (default step)')
    ap.add_argument('--threads', type=positive_int, default=1, help='torch threads (default 1: steady under load from other work; accuracy does not depend on it)')
    ap.add_argument('--report', action='store_true', help='train nothing: write the report from the runs saved so far')
    ap.add_argument('--out', help='results file stem under benchmarks/results (default curriculum): keeps an exploratory run (other schedule, subset) from overwriting the full report')
    ap.add_argument('--tune-trials', type=positive_int, help='schedule-search trials per set for every tuned variant (default: '
                    + '; '.join(f"{v} {t['full']}, quick {t['quick']}" for v, t in TUNE_TRIALS.items()) + ')')
    ap.add_argument('--tune-seeds', type=positive_int, help=f'seeds each search trial trains with (default {len(TUNE_SEEDS)}: {list(TUNE_SEEDS)}); '
                    'more seeds average out more of the validation noise a search can fit')
    ap.add_argument('--note', action='append', help='a line for the report\'s notes (e.g. where the saved runs were trained); repeatable')
    ap.add_argument('--weights', choices=list(WEIGHTS), default='best', help="test metrics with the best validation epoch's weights "
                    "(default) or the last epoch's; runs saved before the last ones were recorded train again")
    ap.add_argument('--fresh', action='store_true', help='ignore runs saved by an earlier, interrupted run')
    main(ap.parse_args())
