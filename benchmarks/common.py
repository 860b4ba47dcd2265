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
