#!/usr/bin/env python
"""Scoring speed: structural complexity features on hiv.csv and empirical-CDF ranking of a million values.

    python benchmarks/scoring.py            # full: all 41,127 hiv molecules, 3 repeats; CDF of 1,000,000 values, 7 repeats
    python benchmarks/scoring.py --quick    # quick: the first 5,000 hiv molecules, 1 repeat; CDF 3 repeats

Per-core rate: `molnb.scoring.complexity_features(smiles, n_workers=0)` (serial, one core) from SMILES, parsing included,
against RDKit parsing alone measured side by side (same SMILES, interleaved repeats), so the ratio tells how much the
features cost over the parse. The all-cores rate uses molnb's default worker count. CDF: `molnb.scoring.ecdf_rank` on
1,000,000 random values (with ties), median of repeats. Writes `benchmarks/results/scoring.{md,json}` (full) or
`scoring.quick.{md,json}`.
"""
from common import command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, datetime, os, statistics, time
from pathlib import Path

NAME = 'scoring'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
MIN_RATE_PER_CORE = 3000  # molecules/s
MAX_CDF_SECONDS = 1.0
CDF_N = 1_000_000


def load_smiles(n:int|None) -> list:
    import pandas as pd
    from molnb.data import load_moleculenet
    ds = load_moleculenet('hiv', root=Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA), quiet=True)
    return ds.smiles[:n] if n else ds.smiles


def timed(fn, *args, **kw) -> float:
    t = time.perf_counter(); fn(*args, **kw); return time.perf_counter() - t


def main(args):
    import numpy as np
    from rdkit import Chem
    from molnb.scoring import complexity_features, ecdf_rank
    mode = 'quick' if args.quick else 'full'
    smiles = load_smiles(5000 if args.quick else None)
    repeats = 1 if args.quick else 3
    parse = lambda: [Chem.MolFromSmiles(s) for s in smiles]
    complexity_features(smiles[:200], n_workers=0, quiet=True)  # warm-up
    t_parse, t_serial, t_all = [], [], []
    for r in range(repeats):
        t_parse.append(timed(parse))
        t_serial.append(timed(complexity_features, smiles, n_workers=0, quiet=True))
        t_all.append(timed(complexity_features, smiles, quiet=True))
        log(f"repeat {r}: parse {len(smiles) / t_parse[-1]:.0f}/s, molnb serial {len(smiles) / t_serial[-1]:.0f}/s, all cores {len(smiles) / t_all[-1]:.0f}/s")
    rng = np.random.default_rng(0)
    values = rng.integers(0, 200_000, CDF_N).astype(np.float64)  # ties, like atom counts
    ecdf_rank(values[:1000])
    t_cdf = [timed(ecdf_rank, values) for _ in range(3 if args.quick else 7)]
    n = len(smiles)
    serial = n / statistics.median(t_serial)
    rows = [dict(what=f'complexity features, serial (1 core), {n} hiv molecules', per_s=round(serial), seconds=round(statistics.median(t_serial), 3)),
            dict(what=f'RDKit MolFromSmiles alone, same molecules', per_s=round(n / statistics.median(t_parse)), seconds=round(statistics.median(t_parse), 3)),
            dict(what=f'complexity features, default workers', per_s=round(n / statistics.median(t_all)), seconds=round(statistics.median(t_all), 3)),
            dict(what=f'ecdf_rank of {CDF_N:,} values', per_s=round(CDF_N / statistics.median(t_cdf)), seconds=round(statistics.median(t_cdf), 4))]
    ratio = statistics.median(p / s for p, s in zip(t_parse, t_serial))
    ts = [target('complexity features per core (molecules/s, serial, parsing included)', serial, '>=', MIN_RATE_PER_CORE),
          target(f'ecdf_rank of {CDF_N:,} values (s, median)', statistics.median(t_cdf), '<=', MAX_CDF_SECONDS)]
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now().isoformat(timespec='seconds'), machine=machine_info(),
                  rows=rows, features_vs_parse_rate=round(ratio, 3), targets=ts)
    md = '\n'.join([f'# Scoring speed ({mode})', '', f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
                    f"Machine: {report['machine']['cpu']}, {report['machine']['usable_cores']} usable cores, GPU: {report['machine']['gpu']}  ",
                    'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['machine']['versions'].items()), '',
                    '## Targets', '', targets_table(ts), '', '## Measured (medians)', '',
                    md_table(['what', 'per second', 'seconds'], [[r['what'], f"{r['per_s']:,}", r['seconds']] for r in rows]), '',
                    f"Feature rate / parse-only rate (same repeats, side by side): {ratio:.3f}: the features cost "
                    f"{(1 / ratio - 1):.2f}x a parse on top of the parse.", ''])
    paths = write_results(NAME, report, md, args.quick)
    log(f"wrote {paths[0]} and {paths[1]}")
    print(md)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='5,000 molecules, fewer repeats')
    main(ap.parse_args())
