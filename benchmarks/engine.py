#!/usr/bin/env python
"""Engine benchmark: the training engine with tasks, batch sources and torchrun against the engine it replaced.

    python benchmarks/engine.py             # full: lipo, GIN and graph transformer, 5 rounds of 3 epochs; DDP; saved runs re-trained
    python benchmarks/engine.py --quick     # quick: 600 lipo molecules, 2 rounds of 1 epoch, one DDP pair, no re-training (a smoke test)

Four questions, one run:
1. Speed, old path against new where both exist: training molecules/s (median epoch) of the same model, data, seed and
   settings through the engine before tasks (`molnb/train.py` at commit OLD_COMMIT, loaded from git) and through
   today's, alternating which goes first each round. Target: new >= 0.98 x old for GIN and the graph transformer on lipo.
   Each pair must also end with identical weights once the new engine uses the old one's optimiser (torch's AdamW; today's
   engine defaults to the fused AdamW of `molnb.train.adamw`, the one intended change of numbers): the loop changes no result.
2. Where a step's time goes: `molnb.train.StepTimer` over a run of each model (collate, forward, backward, optimiser),
   and the engine's own event dispatch (five events per step with nothing listening), timed alone.
3. Two processes: `torchrun --nproc_per_node 2` of 1 thread each at batch B per process against one process of
   2 threads at batch 2B (the same global batches), molecules/s as a ratio (`tests/ddp_run.py`).
4. Saved runs re-trained (full mode, or --reproduce): plain and default-curriculum runs of `benchmarks/curriculum.py`
   (esol and freesolv, seeds 0 and 1) and `benchmarks/property.py` runs (GIN and transformer, esol and freesolv, seeds 0
   and 1), compared with the test metrics in their saved reports.
Writes `benchmarks/results/engine.{md,json}` (full) or `engine.quick.{md,json}`. MoleculeNet CSVs come from
`$MOLNB_DATA` (default `../shared/data/moleculenet`). Nothing else heavy should run while it times.
"""
from common import command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, contextlib, datetime, importlib.util, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

NAME = 'engine'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
OLD_COMMIT = '202306e'  # the last commit of the engine before tasks, batch sources and torchrun
MODELS = {'GIN': dict(encoder='gin', hidden=128, layers=4), 'graph transformer': dict(encoder='transformer', hidden=128, layers=4, heads=4)}
MODE = {'full': dict(molecules=0, epochs=3, rounds=5, ddp_rounds=3), 'quick': dict(molecules=600, epochs=1, rounds=2, ddp_rounds=1)}
BATCH_SIZE = 64


def load_old_engine(commit:str=OLD_COMMIT):
    "The engine module as it was at `commit` (its source from git), importable beside today's; None without git history."
    r = subprocess.run(['git', 'show', f'{commit}:molnb/train.py'], capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0: return None
    path = Path(tempfile.mkdtemp())/'train_before_tasks.py'; path.write_text(r.stdout)
    spec = importlib.util.spec_from_file_location('molnb._train_before_tasks', path)
    mod = importlib.util.module_from_spec(spec); mod.__package__ = 'molnb'
    sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
    return mod


def lipo_train(data:Path, molecules:int):
    "The training part of lipo's random split (seed 0), featurized; the first `molecules` of lipo when not 0."
    from molnb.data import load_moleculenet, random_split
    from molnb.featurize import featurize
    ds = load_moleculenet('lipo', root=data, quiet=True)
    if molecules: ds = ds.subset(range(molecules))
    return featurize(random_split(ds, seed=0).apply(ds)[0], quiet=True)


def one_run(engine, model_cfg:dict, train, epochs:int, seed:int, callbacks=()) -> dict:
    "Train a fresh model through `engine` (a train module); molecules/s of its median epoch and its final weights."
    import torch
    from molnb.models import PropertyModel, ModelConfig
    torch.manual_seed(seed)
    model = PropertyModel(ModelConfig(**model_cfg))
    kw = dict(callbacks=list(callbacks)) if callbacks else {}
    res = engine.Trainer(model, train, epochs=epochs, batch_size=BATCH_SIZE, seed=seed, quiet=True, **kw).fit()
    return dict(rate=float(res.molecules_per_s), seconds=float(res.seconds), weights=res.model.state_dict())


def same_weights(a:dict, b:dict) -> bool:
    import torch
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def max_difference(a:dict, b:dict) -> float:
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


@contextlib.contextmanager
def old_optimiser():
    "Today's engine with the optimiser the old one built (torch's AdamW at its defaults) in place of the fused `molnb.train.adamw`."
    import molnb.train as new, torch
    fused = new.adamw
    new.adamw = lambda params, lr, weight_decay=0.0: torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    try: yield
    finally: new.adamw = fused


def speed(old, train, epochs:int, rounds:int) -> list:
    "Old and new engine side by side, alternating which goes first; one row per model."
    import molnb.train as new
    rows = []
    for name, cfg in MODELS.items():
        rates, identical, differences = {'old': [], 'new': []}, [], []
        for engine in (old, new): one_run(engine, cfg, train, 1, seed=0)  # warm-up: allocator, kernels, caches
        for r in range(rounds):
            order = [('old', old), ('new', new)] if r % 2 == 0 else [('new', new), ('old', old)]
            got = {label: one_run(engine, cfg, train, epochs, seed=r) for label, engine in order}
            for label in got: rates[label].append(got[label]['rate'])
            with old_optimiser(): same = one_run(new, cfg, train, epochs, seed=r)  # untimed: the loop's numbers
            identical.append(same_weights(got['old']['weights'], same['weights']))
            differences.append(max_difference(got['old']['weights'], got['new']['weights']))
            log(f"{name} round {r}: old {got['old']['rate']:.0f}/s, new {got['new']['rate']:.0f}/s, identical weights with the old optimiser: {identical[-1]}, "
                f"largest weight difference with the fused one: {differences[-1]:.2g}")
        pair = [n / o for n, o in zip(rates['new'], rates['old'])]
        rows.append(dict(model=name, config=cfg, old_median=statistics.median(rates['old']), new_median=statistics.median(rates['new']),
                         ratio=statistics.median(rates['new']) / statistics.median(rates['old']), paired_ratio_median=statistics.median(pair),
                         paired_ratio_min=min(pair), paired_ratio_max=max(pair), rounds=rounds, epochs=epochs,
                         identical_weights=sum(identical), fused_max_difference=max(differences), old=rates['old'], new=rates['new']))
    return rows


def breakdown(train, epochs:int) -> list:
    "Each model's step phases (StepTimer) over one run of the new engine."
    import molnb.train as new
    rows = []
    for name, cfg in MODELS.items():
        timer = new.StepTimer()
        one_run(new, cfg, train, epochs, seed=0, callbacks=[timer])
        for r in timer.table().to_dict('records'): rows.append(dict(model=name, **r))
    return rows


def event_dispatch_ms(train, n:int=20000) -> float:
    "Milliseconds per step the engine spends firing its four per-step events (before_batch, after_loss, before_step, batch_end) with nothing listening."
    import molnb.train as new
    from molnb.models import PropertyModel, ModelConfig
    t = new.Trainer(PropertyModel(ModelConfig(hidden=16, layers=1)), train, quiet=True)
    info = dict(epoch=0, step=0, loss=0.0)
    t0 = time.perf_counter()
    for _ in range(n):
        for ev in ('before_batch', 'after_loss', 'before_step', 'batch_end'): t._fire(ev, info)
    return 1e3 * (time.perf_counter() - t0) / n


def ddp_pair(data:Path, molecules:int, epochs:int, rounds:int) -> dict:
    "2 processes x 1 thread x batch 32 against 1 process x 2 threads x batch 64 (tests/ddp_run.py: GIN, hidden 128, 2 layers, lipo)."
    script, env = REPO/'tests'/'ddp_run.py', dict(os.environ, MOLNB_DATA=str(data), OMP_NUM_THREADS='1')
    common_args = ['--data', 'lipo', '--molecules', str(molecules), '--epochs', str(epochs), '--hidden', '128']
    rates = {'2 ranks x 1 thread': [], '1 process x 2 threads': []}
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as d:
            runs = {'2 ranks x 1 thread': [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', str(script), f'{d}/two', '--batch-size', '32', '--threads', '1'],
                    '1 process x 2 threads': [sys.executable, str(script), f'{d}/one', '--batch-size', '64', '--threads', '2']}
            for label in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                p = subprocess.run(runs[label] + common_args, capture_output=True, text=True, env=env, timeout=3600)
                if p.returncode != 0: raise RuntimeError(f"{label} failed:\n{p.stderr[-3000:]}")
                out = f'{d}/two' if label.startswith('2') else f'{d}/one'
                rates[label].append(json.loads(Path(out, 'info.json').read_text())['molecules_per_s'])
                log(f"DDP round {r}: {label} {rates[label][-1]:.0f} molecules/s")
    med = {k: statistics.median(v) for k, v in rates.items()}
    return dict(model='GIN, hidden 128, 2 layers', epochs=epochs, rounds=rounds, rates=rates, medians=med,
                ratio=med['2 ranks x 1 thread'] / med['1 process x 2 threads'])


def _bench_module(name:str):
    "benchmarks/NAME.py as a module (its functions, not its command line)."
    spec = importlib.util.spec_from_file_location(f'{name}_benchmark', Path(__file__).with_name(f'{name}.py'))
    mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
    return mod


def reproduce_curriculum(data:Path, sets=('esol', 'freesolv'), seeds=(0, 1), variants=('no curriculum', 'combined')) -> list:
    "Saved runs of benchmarks/curriculum.py (its full report) trained again through today's engine."
    import torch
    from molnb.curriculum import Competence
    cb = _bench_module('curriculum')
    saved = json.loads((REPO/'benchmarks'/'results'/'curriculum.json').read_text())
    comp = Competence(**{k: saved['competence'][k] for k in ('kind', 'c0', 'p', 'duration', 'rounds')})
    torch.set_num_threads(1)  # as that benchmark runs (its --threads default)
    rows = []
    for name in sets:
        prep = cb.prepare(name, data, saved['teacher_epochs']); prep['searched'] = {}
        for s in seeds:
            for v in variants:
                r = cb.run(prep, v, s, saved['epochs'], comp)
                old = next(x for x in saved['runs'] if (x['set'], x['variant'], x['seed']) == (name, v, s))
                rows.append(dict(benchmark='curriculum', set=name, model=v, seed=s, metric=r['metric'], saved=old['test'], now=r['test'],
                                 saved_last=old.get('test_last'), now_last=r['test_last']))
                log(f"curriculum {name} {v} seed {s}: saved {old['test']:.6f}, now {r['test']:.6f}")
    return rows


def reproduce_property(data:Path, sets=('esol', 'freesolv'), seeds=(0, 1)) -> list:
    "Saved molnb runs of benchmarks/property.py (every molnb model in its report) trained again through today's engine, with the threads they ran with."
    import torch
    pb = _bench_module('property')
    saved = json.loads((REPO/'benchmarks'/'results'/'property.json').read_text())
    rows = []
    for name in sets:
        for row in (r for r in saved['rows'] if r['dataset'] == name and r['library'] == 'molnb'):
            m = row['model']
            for s in seeds:
                old = next(x for x in row['runs'] if x['seed'] == s)
                torch.set_num_threads(old['threads'])
                r = pb.child_molnb(dict(set=name, seed=s, data=str(data), config=row['config'], epochs=row['epochs']))
                rows.append(dict(benchmark='property', set=name, model=m, seed=s, metric=r['metric'], saved=old['test'], now=r['test']))
                log(f"property {name} {m} seed {s}: saved {old['test']:.6f}, now {r['test']:.6f}")
    return rows


# ---------------------------------------------------------------- report

def fmt(x, f='{:.0f}'): return 'n/a' if x is None or x != x else f.format(x)


def targets(report:dict) -> list:
    ts = [target(f"new engine / old engine, training molecules/s, {r['model']} on lipo (median of {r['rounds']} rounds)", r['ratio'], '>=', 0.98,
                 f"paired ratios {r['paired_ratio_min']:.3f}-{r['paired_ratio_max']:.3f}") for r in report['rows']]
    ts += [target(f"{r['model']}: rounds whose old and new runs end with identical weights, the new engine with the old optimiser (of {r['rounds']})", r['identical_weights'], '>=', r['rounds'])
           for r in report['rows']]
    rep = report.get('reproduce') or []
    if rep: ts.append(target(f'saved benchmark runs re-trained with identical test metrics (of {len(rep)})', sum(r['saved'] == r['now'] for r in rep), '>=', len(rep)))
    return ts


def markdown(report:dict) -> str:
    m = report['machine']
    out = [f"# Engine benchmark ({report['mode']})", '',
           f"`{report['command']}`  ", f"{report['date']}; {m['cores']} cores ({m['cpu']}), GPU: {m['gpu']}; torch {m['versions']['torch']}, "
           f"torch_geometric {m['versions']['torch_geometric']}, molnb {m['versions']['molnb']}; {report['seconds']:.0f} s", '',
           "The engine with tasks, batch sources, acting events, complete checkpoints and torchrun (today's `molnb.train`) against the engine "
           f"it replaced (`molnb/train.py` at commit {report['old_commit']}, loaded from git), on the same model, data, seed and settings.", '',
           '## Targets', '', targets_table(report['targets']), '',
           f"## Training speed: lipo, {report['n_train']} training molecules, batch {BATCH_SIZE}, {report['rows'][0]['epochs']} epoch(s) a run, old and new alternating", '',
           md_table(['model', 'old engine (molecules/s)', 'new engine (molecules/s)', 'new / old (medians)', 'paired ratios', 'identical weights (old optimiser)', 'largest weight difference (fused AdamW)'],
                    [[r['model'], fmt(r['old_median']), fmt(r['new_median']), f"{r['ratio']:.3f}",
                      f"{r['paired_ratio_median']:.3f} ({r['paired_ratio_min']:.3f}-{r['paired_ratio_max']:.3f})", f"{r['identical_weights']} of {r['rounds']}", fmt(r.get('fused_max_difference'), '{:.2g}')]
                     for r in report['rows']]), '',
           "## Where a step's time goes (new engine, `molnb.train.StepTimer`)", '',
           md_table(['model', 'phase', 'steps', 'median ms', 'mean ms', 'share of the step'],
                    [[r['model'], r['phase'], r['steps'], f"{r['median_ms']:.2f}", f"{r['mean_ms']:.2f}", f"{r['share']:.1%}"] for r in report['breakdown']]), '',
           f"Event dispatch (four per-step events with nothing listening): {report['events_ms'] * 1e3:.1f} µs a step. 'collate' runs from the end of one "
           "step to the next one's `before_batch`: the control check, drawing the positions, gathering the batch (`GraphSet.batch`) and the copy to the device.", '']
    d = report.get('ddp')
    if d:
        out += [f"## Two processes under torchrun ({d['model']}, lipo, {d['epochs']} epochs, {d['rounds']} round(s))", '',
                md_table(['run', 'molecules/s (median)', 'runs'], [[k, fmt(v), ', '.join(fmt(x) for x in d['rates'][k])] for k, v in d['medians'].items()]), '',
                f"2 ranks x 1 thread / 1 process x 2 threads: **{d['ratio']:.2f}**. Both see the same global batches (32 per rank against 64); "
                "the ranks add a gradient all-reduce per step, per-rank collation and a loss reduction, and process 0 alone validates.", '']
    rep = report.get('reproduce')
    if rep:
        out += ['## Saved benchmark runs, trained again through the new engine', '',
                md_table(['benchmark', 'set', 'model / variant', 'seed', 'metric', 'saved test', 'now', 'identical'],
                         [[r['benchmark'], r['set'], r['model'], r['seed'], r['metric'], f"{r['saved']:.10f}", f"{r['now']:.10f}", 'yes' if r['saved'] == r['now'] else '**no**'] for r in rep]), '',
                'Curriculum runs: the full report\'s schedule, 30 epochs, teachers trained again (20 epochs, 3 folds x 2 repeats), 1 thread; '
                'property runs: 25 epochs, the threads they ran with. Identical means equal to the last bit of a float64.', '']
    return '\n'.join(out)


def rewrite(quick:bool):
    "Write the markdown again from the saved JSON (after a change of the report's wording)."
    js = Path(__file__).resolve().parent/'results'/f"{NAME}{'.quick' if quick else ''}.json"
    report = json.loads(js.read_text())
    if 'speed' in report: report['rows'] = report.pop('speed')  # reports written before the table was called rows
    report['targets'] = targets(report)
    write_results(NAME, report, markdown(report), quick)


def main(args):
    import torch
    if args.report: return rewrite(args.quick)
    mode = 'quick' if args.quick else 'full'
    cfg = MODE[mode]
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    if not (data/'lipo.csv').exists(): sys.exit(f"lipo.csv not found in {data}: set MOLNB_DATA to the MoleculeNet folder")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    old = load_old_engine()
    if old is None: sys.exit(f"git history with commit {OLD_COMMIT} is needed to load the old engine (run from a clone of molnb)")
    train = lipo_train(data, cfg['molecules'])
    log(f"{mode}: lipo, {len(train)} training molecules, {cfg['rounds']} rounds of {cfg['epochs']} epoch(s), {args.threads} threads")
    report = dict(command=command_line(NAME), mode=mode, date=datetime.date.today().isoformat(), machine=machine_info(), old_commit=OLD_COMMIT,
                  n_train=len(train), threads=args.threads)
    report['rows'] = speed(old, train, cfg['epochs'], cfg['rounds'])  # the main table: one row per model
    report['breakdown'] = breakdown(train, cfg['epochs'])
    report['events_ms'] = event_dispatch_ms(train)
    if not args.no_ddp: report['ddp'] = ddp_pair(data, cfg['molecules'], cfg['epochs'], cfg['ddp_rounds'])
    if args.reproduce or (mode == 'full' and not args.no_reproduce):
        report['reproduce'] = reproduce_curriculum(data) + reproduce_property(data)
        torch.set_num_threads(args.threads)
    report['seconds'] = time.perf_counter() - t0
    report['targets'] = targets(report)
    for r in report['rows']: r.pop('config', None)
    md, js = write_results(NAME, report, markdown(report), mode == 'quick')
    log(f"wrote {md} and {js} ({report['seconds']:.0f} s)")
    return report


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='600 lipo molecules, 2 rounds of 1 epoch, one DDP pair, no re-training')
    ap.add_argument('--threads', type=int, default=2, help='torch threads of the single-process runs (default 2)')
    ap.add_argument('--no-ddp', action='store_true', help='skip the two-process run')
    ap.add_argument('--reproduce', action='store_true', help='re-train saved benchmark runs in quick mode too')
    ap.add_argument('--no-reproduce', action='store_true', help='skip re-training saved runs in full mode')
    ap.add_argument('--report', action='store_true', help='train nothing: write the markdown again from the saved JSON')
    main(ap.parse_args())
