"Pieces the benchmark scripts share (they run as `python benchmarks/NAME.py`, so this folder is on sys.path)."
import platform
from pathlib import Path


def cpu_model() -> str:
    "The CPU's model name, from /proc/cpuinfo where there is one."
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------- pieces every benchmark's report uses
import json, os, shlex, sys


def log(msg): print(msg, file=sys.stderr, flush=True)


def command_line(name:str, env:tuple=('MOLNB_DATA',)) -> str:
    "The command as run from the repository root, with the environment variables in `env` that are set."
    pre = ''.join(f"{k}={shlex.quote(os.environ[k])} " for k in env if os.environ.get(k))
    return pre + shlex.join(['python', f'benchmarks/{name}.py', *sys.argv[1:]])


def md_table(header:list, lines:list) -> str:
    return '\n'.join(['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)] + ['| ' + ' | '.join(map(str, l)) + ' |' for l in lines])


def target(name:str, value, op:str, limit:float, note:str='') -> dict:
    "A target row: `value op limit` checked here, from the measured value."
    import operator
    compare = {'>=': operator.ge, '<=': operator.le, '>': operator.gt, '<': operator.lt}
    if op not in compare: raise ValueError(f"unknown comparison {op!r}; use one of {list(compare)}")
    met = value is not None and value == value and compare[op](value, limit)
    t = dict(name=name, value=None if value is None or value != value else round(value, 4), target=f"{op} {limit:g}", met=bool(met))
    if note: t['note'] = note
    return t


def targets_table(ts:list) -> str:
    def measured(t):
        if not t.get('note'): return 'n/a' if t['value'] is None else t['value']
        return t['note'] if t['value'] is None else f"{t['value']} ({t['note']})"
    return md_table(['target', 'measured', 'goal', 'met'], [[t['name'], measured(t), t['target'], 'yes' if t['met'] else '**no**'] for t in ts])


def machine_info(**extra_versions) -> dict:
    "Cores, CPU, memory, GPU and library versions of this machine."
    import platform, numpy, pandas, psutil, rdkit, torch, torch_geometric
    import molnb
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'
    versions = dict(python=platform.python_version(), torch=torch.__version__, torch_geometric=torch_geometric.__version__,
                    rdkit=rdkit.__version__, molnb=molnb.__version__, numpy=numpy.__version__, pandas=pandas.__version__, **extra_versions)
    return dict(cores=os.cpu_count(), usable_cores=usable, cpu=cpu_model(), ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
                gpu=gpu, platform=platform.platform(), torch_threads=torch.get_num_threads(), versions=versions)


def write_results(name:str, report:dict, markdown:str, quick:bool) -> tuple:
    "NAME.{md,json} for a full run, NAME.quick.{md,json} for a quick one (a quick run never overwrites a full one)."
    results = Path(__file__).resolve().parent/'results'
    results.mkdir(parents=True, exist_ok=True)
    stem = f'{name}.quick' if quick else name
    md, js = results/f'{stem}.md', results/f'{stem}.json'
    md.write_text(markdown)
    js.write_text(json.dumps(report, indent=1) + '\n')
    return md, js


# ---------------------------------------------------------------- peak memory of a process (Linux marks, else ru_maxrss)
import gc, resource


def maxrss_mb(who) -> float:
    "`ru_maxrss` of this process (RUSAGE_SELF) or of its largest waited-for child (RUSAGE_CHILDREN), in MB."
    unit = 1 if sys.platform == 'darwin' else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(who).ru_maxrss * unit / 2**20


def peak_rss_mb() -> float:
    """Peak RSS of this process in MB: Linux's per-process mark `VmHWM` (which `settle_memory` can reset) where there is one,
    else `ru_maxrss`. On Linux `ru_maxrss` also keeps the parent's RSS at the moment it spawned us (the kernel carries the
    pre-exec peak over `exec`), which a benchmark parent holding hundreds of MB would add to every child's baseline."""
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    except OSError: pass
    return maxrss_mb(resource.RUSAGE_SELF)


def settle_memory() -> bool:
    """Give freed heap back to the OS and reset the peak-RSS mark to the current RSS (Linux), so the peak measures
    growth from here on rather than an earlier transient peak (imports, reading the CSV). True if the mark was reset."""
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').malloc_trim(0)
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except (OSError, AttributeError): return False


# ---------------------------------------------------------------- runs kept in the repository
RUNS = Path(__file__).resolve().parent/'runs'


class RunLog:
    """The finished runs of a benchmark's full mode, one JSON line each under its `key`, in `benchmarks/runs/NAME.jsonl`.
    The file is committed beside the results: a full mode built up over several sessions keeps every run it has even
    when the machine (and its `$MOLNB_CACHE`) is new. A run saved again under the same key supersedes the earlier line."""
    def __init__(self, name:str, folder:Path|None=None):
        self.file = Path(folder or RUNS)/f'{name}.jsonl'
        self.runs = {}
        if self.file.exists():
            for n, line in enumerate(self.file.read_text().splitlines(), 1):
                try: r = json.loads(line) if line.strip() else None
                except json.JSONDecodeError:  # a line cut short by a killed run: that run is simply done again
                    print(f"{self.file.name}:{n}: not a complete run, skipped", file=sys.stderr); continue
                if r is not None: self.runs[r['key']] = r
    def get(self, key:str) -> dict|None: return self.runs.get(key)
    def add(self, r:dict) -> dict:
        "Keep run `r` (it must have a 'key'); written at once, so an interrupted benchmark loses at most the run in progress."
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with self.file.open('a') as f: f.write(json.dumps(r) + '\n')
        self.runs[r['key']] = r
        return r
    def __len__(self): return len(self.runs)
    def __repr__(self): return f'RunLog({self.file.name}: {len(self)} runs)'


def seed_bootstrap(diffs:list, n:int=2000, seed:int=0) -> list:
    "95 % interval of the mean of paired per-seed differences, the seeds resampled with replacement."
    import numpy as np
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2: return [float('nan'), float('nan')]
    boot = d[np.random.default_rng(seed).integers(0, len(d), (n, len(d)))].mean(1)
    return [float(x) for x in np.percentile(boot, [2.5, 97.5])]
