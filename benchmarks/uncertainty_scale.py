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
- robust: median |z| / 0.6745, the scale that matches the central quantiles of a Gaussian;
- student-t: no longer a Gaussian: a Student t whose scale and degrees of freedom are fitted to the validation z-scores by
  maximum likelihood (scipy's `t.fit`, location 0), so heavy tails get their own parameter; its test metrics are computed
  under that t (its central intervals for the area, its density for the NLL, its standard deviation for the ENCE).
The test part is scored with `molnb.uncertainty.spread_scores` (miscalibration area, NLL, ENCE). Split-conformal intervals
do not depend on the scale (it cancels), so only these metrics do. Results go to benchmarks/results/uncertainty_scale.md;
this is a one-off diagnostic, not a benchmark with targets, and CI does not run it.
"""
import argparse, datetime, json, statistics
from pathlib import Path

from common import command_line, machine_info, md_table
from property import molnb_split

OUT = Path(__file__).resolve().parent/'results'/'uncertainty_scale.md'
SCALES = ('none', 'z-scaling', 'robust', 'student-t')


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
    row['student-t'] = student_t(z, st.mean(0)[:, 0], st.std(0)[:, 0], yt)
    return row


def student_t(z_valid, mu, sd, y) -> dict:
    "Test metrics of a Student t fitted to the validation z-scores (scale and degrees of freedom), centred on `mu` and scaled by `sd`."
    import numpy as np
    from scipy.stats import t
    from molnb.uncertainty import _ence
    df, _, s = t.fit(z_valid, floc=0)
    df = min(df, 1e6)
    q = np.abs(y - mu) / (s * sd)
    area = float(np.mean([abs(np.mean(q <= t.ppf((1 + p) / 2, df)) - p) for p in np.linspace(0.01, 0.99, 99)]))
    nll = float(-np.mean(t.logpdf(y, df, loc=mu, scale=s * sd)))
    ence = _ence(y, mu, s * sd * (np.sqrt(df / (df - 2)) if df > 2 else np.inf)) if df > 2 else float('nan')
    return dict(scale=float(s), df=float(df), area=area, nll=nll, ence=ence)


def mean(rows, k, m): return statistics.mean(r[k][m] for r in rows)


def report(rows:list, sets:list, args) -> str:
    table = [[s, len(rs := [r for r in rows if r['set'] == s]), *(f"{mean(rs, k, 'area'):.3f}" for k in SCALES), *(f"{mean(rs, k, 'nll'):.3f}" for k in SCALES),
              f"{statistics.mean(r['z-scaling']['scale'] for r in rs):.2f}", f"{statistics.median(r['student-t']['df'] for r in rs):.1f}"] for s in sets]
    seeds = [[r['set'], r['seed'], *(f"{r[k]['area']:.3f}" for k in SCALES), *(f"{r[k]['nll']:.3f}" for k in SCALES), f"{r['z-scaling']['scale']:.2f}", f"{r['student-t']['df']:.1f}"] for r in rows]
    head = ['set', 'seeds', *(f'area: {k}' for k in SCALES), *(f'NLL: {k}' for k in SCALES), 'z-scale', 't: dof (median)']
    m = machine_info()
    return '\n'.join([
        '# What z-scaling does to a single variance head (diagnostic, issue 39)', '',
        f"Command: `{command_line('uncertainty_scale')}`  ", f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {m.get('cpu', '')}, {m.get('usable_cores', '')} usable cores", '',
        'Protocol: see the docstring of `benchmarks/uncertainty_scale.py`. Test part; lower is better for both metrics. Mean over seeds:', '',
        md_table(head, table), '', 'Per seed:', '', md_table(['set', 'seed', *head[2:-1], 't: dof'], seeds), ''])


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
