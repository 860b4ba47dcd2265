#!/usr/bin/env python
"""Replay on graphs: what should step 5 train on beside the new and generated molecules? (issue 41)

    python benchmarks/replay_step5.py              # full: lipo and bbbp as graphs, five seeds (kept; run again to go on)
    python benchmarks/replay_step5.py --quick      # a smoke test: bbbp as graphs, a small sample, one seed, a few epochs
    python benchmarks/replay_step5.py --report     # the report from the kept runs, training nothing

Protocol. `benchmarks/replay.py`'s graph scenarios and its SMILES-generator provider (the same seeded solver and
language model as its SMILES rows), `replay` steps 1-5 at its settings three times from the same provider and
generator state, so that steps 1-3 are alike and only step 5 differs (checked: `same_steps_1_3`): with step 5's
optimised inputs as step 4 left them (soft graphs, `optimised='soft'`, the default until now); with those soft graphs
decoded into molecules, made valid by the valence correction and encoded again as definite graphs
(`optimised='molecules'`, `molnb.replay.decoded_inputs`); and without optimised inputs (a second round on the new and
generated molecules only, `optimised='none'`). A one-seed diagnostic (December 2026) found
the soft graphs hurt on both sets. Reported: old and new test metrics and their average per variant, and each
variant's paired difference from the soft graphs on the average (sign-adjusted: positive is better), with a
seed-bootstrap 95 % interval; the variant with the best mean becomes `replay`'s default for graphs.
Runs are kept in `benchmarks/runs/replay-step5.jsonl` (committed; one line per scenario and seed).
"""
from common import RunLog, command_line, log, machine_info, md_table, seed_bootstrap, target, targets_table, write_results
import replay as B
import argparse, copy, datetime, statistics

NAME = 'replay_step5'
MODES = {'full': dict(scenarios=['lipo (graphs)', 'bbbp (graphs)'], seeds=[0, 1, 2, 3, 4]), 'quick': dict(scenarios=['bbbp (graphs)'], seeds=[0])}
SOFT, MOLECULES, NONE = 'step 5: optimised soft graphs', 'step 5: decoded into molecules', 'step 5: no optimised inputs'
ROWS = ['pretrained', 'steps 1-3', SOFT, MOLECULES, NONE]
REVISION = 2  # 2: each variant a whole replay run from the same generator state


def run(name:str, seed:int, mode:str) -> dict:
    "One scenario and seed: each variant's (old, new) test metrics, every variant a `replay` run from the same provider and generator state (steps 1-3 alike)."
    import torch
    torch.set_num_threads(1)
    sc = B.scenario(name, mode)
    solver, gen = B.smiles_provider(sc, seed, mode)
    gen.sample(500, torch.Generator().manual_seed(seed))  # as `replay.py`'s SMILES rows draw before replaying
    runs = {row: B.run_replay(solver, copy.deepcopy(gen), sc, seed, mode, update_epochs=B.SMILES_LM[mode]['update_epochs'], optimised=how)
            for row, how in ((SOFT, 'soft'), (MOLECULES, 'molecules'), (NONE, 'none'))}
    out = {'pretrained': B.evaluate(solver, sc), 'steps 1-3': B.evaluate(runs[SOFT].trained, sc), **{row: B.evaluate(r.solver, sc) for row, r in runs.items()}}
    log(f"{name} seed {seed}: " + ', '.join(f"{k} old {o:.3f} new {n:.3f}" for k, (o, n) in out.items()))
    return dict(metric=B.METRIC[sc['task']], rows={k: dict(old=o, new=n) for k, (o, n) in out.items()}, decoded=len(runs[MOLECULES].inputs), optimised=len(runs[SOFT].inputs),
                same_steps_1_3=max(abs(a - b) for r in runs.values() for a, b in zip(B.evaluate(r.trained, sc), out['steps 1-3'])))


def summarise(runs:list, mode:str) -> tuple:
    "Per scenario and variant: mean old, new and average; the paired difference from the soft graphs with its interval; the targets."
    rows, ts = [], []
    for name in MODES[mode]['scenarios']:
        rs = [r for r in runs if r['scenario'] == name]
        if not rs: continue
        sign = -1.0 if rs[0]['metric'] == 'rmse' else 1.0
        avg = lambda r, row: (r['rows'][row]['old'] + r['rows'][row]['new']) / 2
        best = None
        for row in ROWS:
            d = [sign * (avg(r, row) - avg(r, SOFT)) for r in rs]
            x = dict(scenario=name, row=row, metric=rs[0]['metric'], seeds=len(rs), old=statistics.mean(r['rows'][row]['old'] for r in rs),
                     new=statistics.mean(r['rows'][row]['new'] for r in rs), average=statistics.mean(avg(r, row) for r in rs),
                     versus_soft=statistics.mean(d), interval=seed_bootstrap(d) if row not in ('pretrained', SOFT) else None)
            rows.append(x)
            if row in (SOFT, MOLECULES, NONE) and (best is None or sign * x['average'] > sign * best['average']): best = x
        ts.append(target(f"{name}: replay's default (optimised soft graphs) is the best step 5 by the mean of old and new test {rs[0]['metric']} over {len(rs)} seeds (1 = yes)", float(best['row'] == SOFT), '>=', 1.0, f"best: {best['row']}"))
    return rows, ts


def markdown(r:dict) -> str:
    f = lambda v: '—' if v is None else f'{v:.3f}'
    iv = lambda x: '' if x['interval'] is None else f" [{x['interval'][0]:+.3f}, {x['interval'][1]:+.3f}]"
    return '\n'.join([f"# Replay on graphs: what step 5 trains on ({r['mode']} mode)", '', f"`{r['command']}` — {r['date']}", '', f"**{r['status']}**", '',
                      md_table(['scenario', 'row', 'old test', 'new test', 'average', 'better than soft graphs (sign-adjusted) [95 % interval]', 'seeds'],
                               [[x['scenario'], x['row'], f(x['old']), f(x['new']), f(x['average']), f"{x['versus_soft']:+.3f}{iv(x)}", x['seeds']] for x in r['rows']]),
                      '', '## Targets', '', targets_table(r['targets']), ''])


def main(args):
    import os
    mode = 'quick' if args.quick else 'full'
    os.environ.setdefault('MOLNB_DATA', str(B.DEFAULT_DATA))
    s = MODES[mode]
    if mode == 'full': kept = RunLog('replay-step5')
    else:
        from molnb.core import cache_dir
        kept = RunLog('runs', cache_dir()/'bench'/'replay-step5-quick')
        kept.runs.clear()  # quick mode starts again every time
    if not args.report:
        for name in s['scenarios']:
            for seed in s['seeds']:
                k = f'{name}/{seed}/r{REVISION}'
                if k not in kept.runs: kept.add(dict(run(name, seed, mode), key=k, scenario=name, seed=seed))
    runs = [r for r in kept.runs.values() if r['key'].endswith(f'/r{REVISION}')]
    rows, ts = summarise(runs, mode)
    need = len(s['scenarios']) * len(s['seeds'])
    status = f"All {need} scenario-seeds are in." if len(runs) >= need else f"Incomplete: {len(runs)} of {need} scenario-seeds (kept; run the command again to go on)."
    rep = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), machine=machine_info(),
               status=status, rows=rows, targets=ts, runs=runs)
    md, js = write_results(NAME, rep, markdown(rep), args.quick)
    log(f'wrote {md} and {js}: {status}')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: bbbp as graphs, a small sample, one seed, a few epochs')
    ap.add_argument('--report', action='store_true', help='write the report from the kept runs, training nothing')
    main(ap.parse_args())
