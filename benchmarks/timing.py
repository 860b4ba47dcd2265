#!/usr/bin/env python
"""Timing benchmark (molnb.hwsearch.latencies): does timing structures round by round, each round running every structure
in turn, give more repeatable latencies on this machine than timing each structure alone?

    python benchmarks/timing.py            # full: 20 structures, 2 chips, 5 pairs of passes (a few minutes)
    python benchmarks/timing.py --quick    # a smoke test: 6 structures, 1 pair, few runs

Protocol.
- Structures: every fourth of `SearchSpace()`'s 80 GIN structures (20), cut from an untrained super-network (latency
  does not depend on the weights); one batch of 64 molecules of the built-in FreeSolv set; chips cpu-1 and onnx-cpu.
- A pass times every structure with `latencies(models, chip, batch, warmup=3, repeats=15, rounds=R)`: R = 1 is timing
  each structure alone (its 15 runs back to back), R = 5 interleaves them (3 runs per structure per round).
- A pair is two passes of each way, alternated (alone, interleaved, alone, interleaved) so that both meet the same
  spells of the machine. Per pair and way: the share of structures whose second timing is within 10 % of the first,
  and the ratio second / first: its median (a shift of the whole pass) and its spread, 10th to 90th percentile (how
  unevenly the structures moved; what a ranking, a Pareto front or a latency predictor suffers from).
- Reported: per chip, the median over pairs of each number, and the spread ratio interleaved / alone (below 1: the
  interleaved timings agree better with each other).
"""
from common import command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, datetime, statistics

NAME = 'timing'
MODES = {'full': dict(every=4, pairs=5, repeats=15, rounds=5, chips=['cpu-1', 'onnx-cpu']),
         'quick': dict(every=16, pairs=1, repeats=6, rounds=3, chips=['cpu-1', 'onnx-cpu'])}
BATCH = 64


def models(every:int) -> list:
    "Every `every`-th structure of the default GIN space, cut from an untrained super-network."
    import torch
    from molnb.hwsearch import SearchSpace, SuperNet, extract
    from molnb.models import ModelConfig
    torch.manual_seed(0)
    sn = SuperNet(SearchSpace(), ModelConfig())
    return [extract(sn, a) for a in sn.space.archs()[::every]]


def agreement(a:list, b:list) -> dict:
    "How two passes' medians agree: share within 10 %, and the ratio second / first (median, 10th and 90th percentiles)."
    import numpy as np
    x, y = np.array([t['median_ms'] for t in a]), np.array([t['median_ms'] for t in b])
    r = y / x
    return dict(within_10=float(np.mean(np.abs(y - x) <= 0.1 * x)), ratio_median=float(np.median(r)),
                ratio_q10=float(np.percentile(r, 10)), ratio_q90=float(np.percentile(r, 90)), spread=float(np.percentile(r, 90) - np.percentile(r, 10)))


def main(args):
    import torch
    from molnb.data import load_builtin
    from molnb.featurize import featurize
    from molnb.hwsearch import latencies
    from molnb.train import collate
    mode = 'quick' if args.quick else 'full'
    s = MODES[mode]
    torch.set_num_threads(1)
    ms = models(s['every'])
    batch = collate(featurize(load_builtin('freesolv', quiet=True), quiet=True), range(BATCH))
    rows = []
    for c in s['chips']:
        for p in range(s['pairs']):
            passes = {way: [] for way in ('alone', 'interleaved')}
            for _ in range(2):
                for way, rounds in (('alone', 1), ('interleaved', s['rounds'])):
                    passes[way].append(latencies(ms, c, batch, repeats=s['repeats'], rounds=rounds))
            for way, (a, b) in passes.items():
                rows.append(dict(chip=c, pair=p, way=way, structures=len(ms), **agreement(a, b)))
                log(f"{c} pair {p} {way}: within 10 % {rows[-1]['within_10']:.2f}, ratio {rows[-1]['ratio_q10']:.3f}-{rows[-1]['ratio_q90']:.3f}")
    summary, ts = [], []
    for c in s['chips']:
        med = lambda way, k: statistics.median(r[k] for r in rows if r['chip'] == c and r['way'] == way)
        sm = {way: {k: med(way, k) for k in ('within_10', 'ratio_median', 'spread')} for way in ('alone', 'interleaved')}
        summary.append(dict(chip=c, **{f'{way}_{k}': v for way, d in sm.items() for k, v in d.items()}))
        ts.append(target(f'{c}: ratio spread, interleaved / alone (median over {s["pairs"]} pairs)', sm['interleaved']['spread'] / sm['alone']['spread'], '<=', 1.0))
    rep = dict(command=command_line(NAME, env=()), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
               machine=machine_info(), settings=dict(batch=BATCH, **s), summary=summary, rows=rows, targets=ts)
    md = [f"# Timing benchmark ({mode})", '', f"`{rep['command']}`", '', f"{rep['date']}; {rep['machine']['cpu']}, {rep['machine']['cores']} cores.", '',
          'Protocol: see the docstring of `benchmarks/timing.py`.', '',
          md_table(['chip', 'way', 'second pass within 10 % of the first', 'ratio second / first: median', 'spread (10th to 90th percentile)'],
                   [[r['chip'], way, f"{r[f'{way}_within_10']:.2f}", f"{r[f'{way}_ratio_median']:.3f}", f"{r[f'{way}_spread']:.3f}"] for r in summary for way in ('alone', 'interleaved')]),
          '', 'Medians over pairs of passes; every pair is in the JSON.', '', '## Targets', '', targets_table(ts), '']
    out = write_results(NAME, rep, '\n'.join(md), args.quick)
    log(f'wrote {out[0]} and {out[1]}')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: 6 structures, one pair of passes, few runs')
    main(ap.parse_args())
