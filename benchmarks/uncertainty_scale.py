#!/usr/bin/env python
"""Diagnostic for issue 39: what does z-scaling do to a single variance head's calibration?

    python benchmarks/uncertainty_scale.py                      # esol and freesolv, seeds 0-4 (about a minute per set here)
    python benchmarks/uncertainty_scale.py --sets lipo --seeds 0 1

One model with a variance head (`ModelConfig(variance=True)`, trained by the Gaussian NLL; `train()` at its defaults,
50 epochs, seed 100 s) per seed, on `benchmarks/property.py`'s split of the set (random 80/10/10, seed s). Its standard
deviations are scaled by a factor fitted on the validation part, three ways:
- none: 1;
- z-scaling: the root mean square of the validation z-scores, the NLL-optimal scale (molnb's `calibrate` and chemprop's
  `zscaling`);
- robust: median |z| / 0.6745, the scale that matches the central quantiles of a Gaussian.
The test part is scored with `molnb.uncertainty.spread_scores` (miscalibration area, NLL, ENCE). Split-conformal intervals
do not depend on the scale (it cancels), so only these metrics do. Results go to benchmarks/results/uncertainty_scale.md;
this is a one-off diagnostic, not a benchmark with targets, and CI does not run it.
"""
import argparse, datetime, json, statistics
from pathlib import Path

from common import command_line, machine_info, md_table
from property import molnb_split

OUT = Path(__file__).resolve().parent/'results'/'uncertainty_scale.md'
SCALES = ('none', 'z-scaling', 'robust')


def one_seed(name:str, seed:int, data:Path) -> dict:
    "Test metrics of one variance-head model at each validation-fitted scale."
    import numpy as np, torch
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train
    from molnb.uncertainty import labels, output_samples, spread_scores
    ds, split = molnb_split(name, seed, data)
    gs = [featurize(p, quiet=True) for p in split.apply(ds)]
    torch.manual_seed(100 * seed)
    model = train(PropertyModel(ModelConfig(n_tasks=1, task='regression', variance=True)), *gs, epochs=50, seed=100 * seed, quiet=True).model
    (sv, yv), (st, yt) = [(output_samples(model, g, 'mve', 1), labels(g)[:, 0]) for g in gs[1:]]
    z = (yv - sv.mean(0)[:, 0]) / sv.std(0)[:, 0]
    scale = {'none': 1.0, 'z-scaling': float(np.sqrt(np.mean(z ** 2))), 'robust': float(np.median(np.abs(z)) / 0.6745)}
    row = dict(set=name, seed=seed)
    for k, s in scale.items():
        r = spread_scores(st.mean(0)[:, 0], s * st.std(0)[:, 0], yt, 'regression')
        row[k] = dict(scale=s, area=r['miscalibration_area'], nll=r['nll'], ence=r['ence'])
    return row


def mean(rows, k, m): return statistics.mean(r[k][m] for r in rows)


def report(rows:list, sets:list, args) -> str:
    table = [[s, len(rs := [r for r in rows if r['set'] == s]), *(f"{mean(rs, k, 'area'):.3f}" for k in SCALES), *(f"{mean(rs, k, 'nll'):.3f}" for k in SCALES),
              f"{statistics.mean(r['z-scaling']['scale'] for r in rs):.2f}"] for s in sets]
    seeds = [[r['set'], r['seed'], *(f"{r[k]['area']:.3f}" for k in SCALES), *(f"{r[k]['nll']:.3f}" for k in SCALES), f"{r['z-scaling']['scale']:.2f}"] for r in rows]
    head = ['set', 'seeds', 'area: none', 'area: z-scaling', 'area: robust', 'NLL: none', 'NLL: z-scaling', 'NLL: robust', 'z-scale']
    m = machine_info()
    return '\n'.join([
        '# What z-scaling does to a single variance head (diagnostic, issue 39)', '',
        f"Command: `{command_line('uncertainty_scale')}`  ", f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {m.get('cpu', '')}, {m.get('usable_cores', '')} usable cores", '',
        'Protocol: see the docstring of `benchmarks/uncertainty_scale.py`. Test part; lower is better for both metrics. Mean over seeds:', '',
        md_table(head, table), '', 'Per seed:', '', md_table(['set', 'seed', *head[2:]], seeds), ''])


def main(args):
    data = Path(args.data)
    rows = []
    for name in args.sets:
        for seed in args.seeds:
            rows.append(one_seed(name, seed, data)); print(json.dumps(rows[-1]), flush=True)
    OUT.write_text(report(rows, args.sets, args)); print(f'wrote {OUT}')


if __name__ == '__main__':
    import os
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sets', nargs='+', default=['esol', 'freesolv'])
    ap.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument('--data', default=os.environ.get('MOLNB_DATA') or str(Path(__file__).resolve().parents[2]/'shared'/'data'/'moleculenet'))
    main(ap.parse_args())
