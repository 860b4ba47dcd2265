#!/usr/bin/env python
"""Featurization benchmark: molnb against RDKit parsing and PyTorch Geometric, side by side in one run.

    python benchmarks/featurize.py            # full: 1,000 / 4,200 (lipo) and 41,127 (hiv), 5 repeats
    python benchmarks/featurize.py --quick    # quick: 1,000 / 4,200, 2 repeats, PyG on the first 1,000 only

Peers, on the same SMILES in this process, repeats interleaved (the order rotates each repeat):
RDKit `Chem.MolFromSmiles` alone, `torch_geometric.utils.from_smiles`, molnb serial (`n_workers=0`),
molnb on all cores (`n_workers=None`), and molnb with its cache (first load writes it, second reads it).
Peak memory of molnb is measured in a fresh subprocess per size (this script with `--child`).
Writes `benchmarks/results/featurize.{md,json}` (full) or `featurize.quick.{md,json}` (quick);
the MoleculeNet CSVs are read from `$MOLNB_DATA` (default `../shared/data/moleculenet` from the repo root).
"""
from common import cpu_model, maxrss_mb, peak_rss_mb, settle_memory
import argparse, contextlib, datetime, gc, json, os, platform, resource, shlex, statistics, subprocess, sys, tempfile, time
from functools import partial
from pathlib import Path

import pandas as pd
import psutil
import rdkit
import torch
import torch_geometric
from rdkit import Chem, rdBase
from torch_geometric.utils import from_smiles

import molnb
from molnb.core import default_workers
from molnb.featurize import featurize

NAME = 'featurize'
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO/'benchmarks'/'results'
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
SIZES = [('lipo[:1000]', 'lipo.csv', 1000), ('lipo', 'lipo.csv', None), ('hiv', 'hiv.csv', None)]  # (label, file, first n; None = all)
TARGET_SIZE = 'lipo'  # the size the rate and cache targets are read at
REPEATS = {'quick': 2, 'full': 5}
QUICK_SIZES = 2  # quick mode runs the first two sizes
PYG_QUICK_SUBSET = 1000  # PyG from_smiles is slow: quick mode times it on the first 1,000 SMILES of each size
WARMUP = 50  # molecules each peer sees once, untimed, before any timing
MIN_SERIAL_VS_RDKIT, MIN_SERIAL_VS_PYG, MIN_CACHE_SPEEDUP, MAX_GROWTH = 0.5, 4.0, 20.0, 1.5


def log(msg): print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def data_dir(*files:str) -> Path:
    "The MoleculeNet folder: `$MOLNB_DATA`, else ../shared/data/moleculenet; exits with a message if `files` are not in it."
    d = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    missing = [f for f in sorted(set(files)) if not (d/f).is_file()]
    if missing: sys.exit(f"benchmarks/{NAME}.py: MoleculeNet CSVs {missing} not found in {d}; set MOLNB_DATA to the folder holding them")
    return d


def load_smiles(label:str) -> list:
    "The SMILES of the size called `label` in SIZES."
    _, file, n = next(s for s in SIZES if s[0] == label)
    smiles = pd.read_csv(data_dir(file)/file)['smiles'].astype(str).tolist()
    return smiles[:n] if n else smiles


def reference_pass(smiles:list) -> tuple:
    "Untimed RDKit pass: indices RDKit cannot parse, and the mean heavy atoms per parsed molecule."
    with rdBase.BlockLogs(): mols = [Chem.MolFromSmiles(s) for s in smiles]
    atoms = [m.GetNumAtoms() for m in mols if m is not None]
    return {i for i, m in enumerate(mols) if m is None}, sum(atoms) / max(len(atoms), 1)


# ---------------------------------------------------------------- peers (each: smiles, failed -> {timing name: seconds})

def timed(fn, *args, **kwargs) -> tuple:
    "(seconds, result) of one call, after a garbage collection."
    gc.collect()
    t = time.perf_counter()
    res = fn(*args, **kwargs)
    return time.perf_counter() - t, res


def check_graphs(gs, n:int, failed:set, who:str):
    "molnb must keep every molecule RDKit parses and report every one it cannot in `.rejected`."
    rows = set(gs.rejected['row'].astype(int))
    if len(gs) + len(gs.rejected) != n or rows != failed:
        raise RuntimeError(f"{who}: featurize returned {len(gs)} graphs and rejected rows {sorted(rows)}; "
                           f"expected {n - len(failed)} graphs and rejected rows {sorted(failed)} (RDKit's failures)")


def rdkit_parse(smiles:list) -> list:
    with rdBase.BlockLogs(): return [Chem.MolFromSmiles(s) for s in smiles]


def pyg_from_smiles(smiles:list) -> list:
    with rdBase.BlockLogs(): return [from_smiles(s) for s in smiles]


def peer_rdkit(smiles, failed): return {'rdkit': timed(rdkit_parse, smiles)[0]}


def peer_pyg(smiles, failed, n=None): return {'pyg': timed(pyg_from_smiles, smiles[:n])[0]}


def peer_molnb(smiles, failed, n_workers, key):
    t, gs = timed(featurize, smiles, cache=False, n_workers=n_workers, quiet=True)
    check_graphs(gs, len(smiles), failed, key)
    return {key: t}


@contextlib.contextmanager
def env_var(name:str, value:str):
    "Set an environment variable for the duration of a block."
    old = os.environ.get(name)
    os.environ[name] = value
    try: yield
    finally:
        if old is None: os.environ.pop(name, None)
        else: os.environ[name] = old


def peer_molnb_cache(smiles, failed):
    "First load (featurize on all cores + write the cache) and second load (read it), in a fresh cache folder."
    with tempfile.TemporaryDirectory(prefix='molnb-bench-cache-') as d, env_var('MOLNB_CACHE', d):
        first, gs1 = timed(featurize, smiles, quiet=True, n_workers=None)
        if not any(Path(d).rglob('*.pt')): raise RuntimeError(f"featurize(cache=True) wrote no cache file under MOLNB_CACHE={d}")
        second, gs2 = timed(featurize, smiles, quiet=True, n_workers=None)
    check_graphs(gs1, len(smiles), failed, 'cache first load')
    check_graphs(gs2, len(smiles), failed, 'cache second load')
    return {'cache_first': first, 'cache_second': second}


def peers(quick:bool) -> list:
    return [peer_rdkit, partial(peer_pyg, n=PYG_QUICK_SUBSET if quick else None),
            partial(peer_molnb, n_workers=0, key='serial'), partial(peer_molnb, n_workers=None, key='all'),
            peer_molnb_cache]


def warm_up(quick:bool):
    "Run every peer once on a few molecules so imports and lazy set-up are not timed."
    smiles = load_smiles(SIZES[0][0])[:WARMUP]
    failed, _ = reference_pass(smiles)
    for p in peers(quick): p(smiles, failed)


def time_peers(smiles:list, failed:set, repeats:int, quick:bool) -> dict:
    "{timing name: [seconds per repeat]}, repeats interleaved, the peer order rotated each repeat."
    ps, times = peers(quick), {}
    for r in range(repeats):
        for p in ps[r % len(ps):] + ps[:r % len(ps)]:
            for k, t in p(smiles, failed).items(): times.setdefault(k, []).append(t)
        log(f"  repeat {r + 1}/{repeats}: " + ', '.join(f"{k} {v[-1]:.2f}s" for k, v in times.items()))
    return times


# ---------------------------------------------------------------- memory (fresh subprocess per size)

def child_memory(label:str, workers:str):
    "In a fresh process: featurize one size and print its peak RSS growth over the baseline after imports and reading the CSV."
    smiles = load_smiles(label)
    peak_reset = settle_memory()
    base = peak_rss_mb()
    gs = featurize(smiles, cache=False, n_workers=0 if workers == 'serial' else None, quiet=True)
    print(json.dumps(dict(n=len(smiles), graphs=len(gs), baseline_mb=base, growth_mb=peak_rss_mb() - base, peak_reset=peak_reset,
                          worker_peak_mb=maxrss_mb(resource.RUSAGE_CHILDREN), workers=0 if workers == 'serial' else default_workers(len(smiles)))))


def measure_memory(label:str, workers:str) -> dict:
    "Run `child_memory` in a fresh interpreter and return what it reports."
    cmd = [sys.executable, str(Path(__file__).resolve()), '--child', label, '--workers', workers]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode: raise RuntimeError(f"memory child {label}/{workers} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_fields(label:str, n:int) -> dict:
    "Peak RSS growth of molnb featurization at one size: serial, and on all cores (parent growth + each worker's peak RSS)."
    ser, par = measure_memory(label, 'serial'), measure_memory(label, 'all')
    worker_peak = par['worker_peak_mb'] if par['workers'] else 0.0
    return dict(mem_baseline_mb=ser['baseline_mb'], mem_serial_mb=ser['growth_mb'], mem_serial_kb_per_mol=ser['growth_mb'] * 1024 / n,
                mem_all_parent_mb=par['growth_mb'], mem_all_workers=par['workers'], mem_all_worker_peak_mb=worker_peak,
                mem_all_bound_mb=par['growth_mb'] + par['workers'] * worker_peak, mem_peak_reset=ser['peak_reset'] and par['peak_reset'])


# ---------------------------------------------------------------- one size -> one row

def median_ratio(num:list, den:list) -> float:
    "Median over repeats of num/den, each pair measured in the same repeat."
    return statistics.median(a / b for a, b in zip(num, den))


def measure_size(label:str, repeats:int, quick:bool) -> dict:
    smiles = load_smiles(label)
    n = len(smiles)
    log(f"{label}: {n:,} molecules")
    failed, mean_atoms = reference_pass(smiles)
    t = time_peers(smiles, failed, repeats, quick)
    pyg_n = min(n, PYG_QUICK_SUBSET) if quick else n
    rate = lambda ts, k=n: [k / x for x in ts]
    med = lambda k: statistics.median(t[k])
    row = dict(dataset=label, n=n, unparseable=len(failed), mean_heavy_atoms=round(mean_atoms, 2), repeats=repeats, pyg_n=pyg_n,
               rdkit_mol_s=n / med('rdkit'), pyg_mol_s=pyg_n / med('pyg'), serial_mol_s=n / med('serial'),
               all_mol_s=n / med('all'), all_workers=default_workers(n),
               serial_vs_rdkit=median_ratio(rate(t['serial']), rate(t['rdkit'])),
               serial_vs_pyg=median_ratio(rate(t['serial']), rate(t['pyg'], pyg_n)),
               all_vs_serial=median_ratio(t['serial'], t['all']),
               serial_us_per_mol=med('serial') / n * 1e6,
               cache_first_s=med('cache_first'), cache_second_s=med('cache_second'),
               cache_speedup=median_ratio(t['cache_first'], t['cache_second']))
    row.update(memory_fields(label, n))
    row['times_s'] = t
    return row


# ---------------------------------------------------------------- targets

def target(name:str, value:float, op:str, limit:float) -> dict:
    met = value >= limit if op == '>=' else value <= limit
    return dict(name=name, value=round(value, 3), target=f"{op} {limit:g}", met=bool(met))


def targets(rows:list) -> list:
    "Targets from the measured rows: rates and cache at 4,200 (lipo); linear growth between the two largest sizes."
    at = next(r for r in rows if r['dataset'] == TARGET_SIZE)
    ref, big = rows[-2], rows[-1]
    pair = f"{big['dataset']} ({big['n']:,}) / {ref['dataset']} ({ref['n']:,})"
    return [target(f"molnb serial / RDKit parse rate, {at['dataset']} ({at['n']:,})", at['serial_vs_rdkit'], '>=', MIN_SERIAL_VS_RDKIT),
            target(f"molnb serial / PyG from_smiles rate, {at['dataset']} ({at['n']:,}; PyG on {at['pyg_n']:,})", at['serial_vs_pyg'], '>=', MIN_SERIAL_VS_PYG),
            target(f"cache second load speedup over first load, {at['dataset']} ({at['n']:,})", at['cache_speedup'], '>=', MIN_CACHE_SPEEDUP),
            target(f"serial time per molecule, {pair}", big['serial_us_per_mol'] / ref['serial_us_per_mol'], '<=', MAX_GROWTH),
            target(f"peak memory per molecule (serial), {pair}", big['mem_serial_kb_per_mol'] / ref['mem_serial_kb_per_mol'], '<=', MAX_GROWTH)]


# ---------------------------------------------------------------- report

def machine_info() -> dict:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'
    return dict(cores=os.cpu_count(), usable_cores=usable, cpu=cpu_model(), ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
                gpu=gpu, platform=platform.platform(),
                versions=dict(python=platform.python_version(), torch=torch.__version__, torch_geometric=torch_geometric.__version__,
                              rdkit=rdkit.__version__, molnb=molnb.__version__, pandas=pd.__version__))


def command_line() -> str:
    "The command as run from the repository root."
    data = f"MOLNB_DATA={shlex.quote(os.environ['MOLNB_DATA'])} " if os.environ.get('MOLNB_DATA') else ''
    return data + shlex.join(['python', f'benchmarks/{NAME}.py', *sys.argv[1:]])


def md_table(header:list, lines:list) -> str:
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] + ['| ' + ' | '.join(map(str, l)) + ' |' for l in lines])


def throughput_table(rows:list) -> str:
    head = ['molecules', 'unparseable', 'heavy atoms/mol', 'RDKit parse mol/s', 'PyG from_smiles mol/s', 'molnb serial mol/s',
            'molnb all cores mol/s (workers)', 'serial / RDKit', 'serial / PyG', 'all cores / serial', 'serial µs/mol']
    return md_table(head, [[f"{r['dataset']} ({r['n']:,})", r['unparseable'], f"{r['mean_heavy_atoms']:.1f}", f"{r['rdkit_mol_s']:,.0f}",
                            f"{r['pyg_mol_s']:,.0f}" + ('' if r['pyg_n'] == r['n'] else f" (first {r['pyg_n']:,})"),
                            f"{r['serial_mol_s']:,.0f}", f"{r['all_mol_s']:,.0f} ({r['all_workers'] or 'serial'})",
                            f"{r['serial_vs_rdkit']:.2f}", f"{r['serial_vs_pyg']:.1f}", f"{r['all_vs_serial']:.2f}",
                            f"{r['serial_us_per_mol']:.0f}"] for r in rows])


def cache_memory_table(rows:list) -> str:
    head = ['molecules', 'cache first load s', 'cache second load s', 'speedup', 'serial peak RSS growth MB', 'serial KB/mol',
            'all cores: parent growth MB', 'all cores: workers × worker peak RSS MB']
    return md_table(head, [[f"{r['dataset']} ({r['n']:,})", f"{r['cache_first_s']:.3f}", f"{r['cache_second_s']:.4f}", f"{r['cache_speedup']:.0f}x",
                            f"{r['mem_serial_mb']:.1f}", f"{r['mem_serial_kb_per_mol']:.2f}", f"{r['mem_all_parent_mb']:.1f}",
                            f"{r['mem_all_workers']} × {r['mem_all_worker_peak_mb']:.0f}" if r['mem_all_workers'] else 'serial (same as left)']
                           for r in rows])


def targets_table(ts:list) -> str:
    return md_table(['target', 'value', 'wanted', 'met'], [[t['name'], t['value'], t['target'], 'met' if t['met'] else '**MISSED**'] for t in ts])


def markdown(report:dict) -> str:
    m, v = report['machine'], report['machine']['versions']
    return f"""# Featurization benchmark: molnb vs RDKit parsing vs PyG `from_smiles`

- Command (from the repository root): `{report['command']}`
- Mode: {report['mode']}, {report['rows'][0]['repeats']} interleaved repeats per size (medians shown); date {report['date']}
- Machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['ram_gb']} GB RAM, GPU: {m['gpu']}; {m['platform']}
- Versions: python {v['python']}, torch {v['torch']}, torch_geometric {v['torch_geometric']}, rdkit {v['rdkit']}, molnb {v['molnb']}, pandas {v['pandas']}

Peers on the same SMILES in one process: RDKit `Chem.MolFromSmiles` alone (single core), `torch_geometric.utils.from_smiles`
(single core), molnb `featurize(smiles, cache=False, n_workers=0)` (serial, one core) and `n_workers=None`
(all cores for large sets: `molnb.core.default_workers(n)` processes; serial below 2,000 molecules per worker).
Ratios are medians of the per-repeat ratios, each pair timed in the same repeat.

## Throughput

{throughput_table(report['rows'])}

## Cache and memory

Cache: a fresh `MOLNB_CACHE` folder per repeat; first load featurizes (all cores) and writes the cache, second load reads it.
Peak memory: a fresh subprocess per size (`--child`); the growth of its peak RSS from the baseline after imports and reading
the CSV (there, freed heap is returned with `malloc_trim` and the peak mark reset through `/proc/self/clear_refs`, so an
earlier transient peak does not hide the growth{'' if all(r['mem_peak_reset'] for r in report['rows']) else '; **the reset was not possible on this machine**'}).
The peak is Linux's per-process `VmHWM`, not `ru_maxrss`, which on Linux also carries the spawning parent's RSS over `exec`.
Baseline after imports: {report['rows'][0]['mem_baseline_mb']:.0f} MB. All cores: the parent's growth, and each worker's peak RSS
from `RUSAGE_CHILDREN` (the largest worker's `ru_maxrss`); a forked worker's RSS includes pages it shares with the parent
(torch, RDKit), so workers × worker peak is an upper bound, not the memory the workers add.

{cache_memory_table(report['rows'])}

## Targets

{targets_table(report['targets'])}
"""


def write_results(report:dict, quick:bool) -> tuple:
    "featurize.{md,json} for a full run, featurize.quick.{md,json} for a quick one (a quick run never overwrites a full one)."
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS/(f'{NAME}.quick' if quick else NAME)
    md, js = stem.with_name(stem.name + '.md'), stem.with_name(stem.name + '.json')
    md.write_text(markdown(report))
    js.write_text(json.dumps(report, indent=1) + '\n')
    return md, js


def main(quick:bool):
    sizes = SIZES[:QUICK_SIZES if quick else None]
    data_dir(*(f for _, f, _ in sizes))
    mode = 'quick' if quick else 'full'
    started = datetime.datetime.now(datetime.timezone.utc)
    warm_up(quick)
    rows = [measure_size(label, REPEATS[mode], quick) for label, _, _ in sizes]
    report = dict(command=command_line(), mode=mode, date=started.strftime('%Y-%m-%d %H:%M UTC'), machine=machine_info(),
                  rows=rows, targets=targets(rows))
    report['duration_s'] = round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(), 1)
    md, js = write_results(report, quick)
    print(markdown(report))
    for t in report['targets']: print(f"{'met   ' if t['met'] else 'MISSED'}  {t['name']}: {t['value']} (wanted {t['target']})")
    print(f"wrote {md.relative_to(REPO)} and {js.relative_to(REPO)} in {report['duration_s']:.0f}s")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='1,000 and 4,200 molecules, 2 repeats, PyG on 1,000 (also the smoke test)')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    ap.add_argument('--workers', choices=['serial', 'all'], default='serial', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child: child_memory(args.child, args.workers)
    else: main(args.quick)
