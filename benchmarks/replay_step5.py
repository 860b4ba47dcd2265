#!/usr/bin/env python
"""Diagnostic beside the replay benchmark: on graphs, does step 5 hurt because of the optimised soft graphs, or because of a second round of training?

    python benchmarks/replay_step5.py "lipo (graphs)" 1    # one scenario and seed of benchmarks/replay.py's full mode

From the same seeded provider (solver and SMILES generator) as `replay.py`'s SMILES rows, `replay` steps 1-5 run at the
benchmark's settings; then the solver after step 2 is trained a second time as step 5 does, (a) on the new and generated
molecules only, without the optimised soft graphs, and (b) with them, in another batch order (seed + 100), to see how much
step 5 varies. Old and new test metrics of each go to `benchmarks/results/replay_step5.json` (one entry per scenario and
seed). One seed per scenario so far: a diagnostic, not a benchmark row.
"""
import copy, json, sys
from pathlib import Path
import replay as B


def main(name:str, seed:int, mode:str='full') -> tuple:
    "The scenario's metric and each row's (old, new) test metrics."
    import torch
    from molnb.replay import _fit_solver, replay_batches
    torch.set_num_threads(1)
    sc = B.scenario(name, mode)
    solver, gen = B.smiles_provider(sc, seed, mode)
    gen.sample(500, torch.Generator().manual_seed(seed))  # as `run_smiles` draws before replaying
    r5 = B.run_replay(solver, gen, sc, seed, mode, update_epochs=B.SMILES_LM[mode]['update_epochs'])
    out = {'pretrained': B.evaluate(solver, sc), 'steps 1-3': B.evaluate(r5.trained, sc), 'steps 1-5': B.evaluate(r5.solver, sc)}
    ntr, nva, _ = sc['new']
    for row, extra, s in [('step 5 without the optimised inputs', None, seed), ('step 5, another batch order', {'optimised': r5.inputs}, seed + 100)]:
        m = copy.deepcopy(r5.trained)
        _fit_solver(m, replay_batches(ntr, gen.generator, solver, None, extra=extra, seed=s), nva, B.MODES[mode]['epochs'], B.LR, s, True)
        out[row] = B.evaluate(m, sc)
    B.log(f"{name} seed {seed}: " + ', '.join(f"{k} old {o:.3f} new {n:.3f}" for k, (o, n) in out.items()))
    return B.METRIC[sc['task']], out


if __name__ == '__main__':
    name, seed = sys.argv[1], int(sys.argv[2])
    path = Path(__file__).resolve().parent/'results'/'replay_step5.json'
    kept = json.loads(path.read_text()) if path.exists() else {}
    metric, out = main(name, seed)
    kept[f'{name}/{seed}'] = dict(metric=metric, **{k: dict(old=o, new=n) for k, (o, n) in out.items()})
    path.write_text(json.dumps(kept, indent=1) + '\n')
