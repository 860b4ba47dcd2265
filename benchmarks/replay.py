#!/usr/bin/env python
"""Replay benchmark: updating a solver on new data without the old data (molnb.replay), against its peers.

    python benchmarks/replay.py            # full: digits, lipo and bbbp (fingerprints), lipo and bbbp (graphs); 5 seeds (kept; run again to continue)
    python benchmarks/replay.py --quick    # a smoke test: digits, bbbp and bbbp (graphs), 1 seed, few epochs, small sets
    python benchmarks/replay.py --scenarios "lipo (graphs)"   # only some scenarios (the report covers every kept run)
    python benchmarks/replay.py --report   # the report from the kept runs, training nothing

Protocol.
- Scenarios. digits: scikit-learn's bundled handwritten digits, old = 0-4, new = 5-9 (class-incremental; accuracy).
  lipo (regression, RMSE) and bbbp (classification, ROC-AUC): ECFP4 fingerprints (`molnb.featurize.fingerprint_set`,
  2048 bits), the molecules split by scaffold clusters into two disjoint halves (Bemis-Murcko scaffolds, their ECFP4
  clustered in two by k-means, seed 0; a molecule follows its scaffold), the larger cluster old, the other new. Each
  half is split 70/15/15 at random (seed 0) into train, validation and test.
  "lipo (graphs)" and "bbbp (graphs)": the same halves as soft molecular graphs (`molnb.replay.soft_graph_set`, at most
  38 atoms, which holds 96 % of lipo and 94 % of bbbp; larger molecules are left out of both halves and counted in the
  report), the size prior taken from the old training part (what the provider knows).
- Solver: an MLP (2 x 128, dropout 0.1), or for graphs molnb's GIN (3 x 128, mean readout, dropout 0.1, soft atom
  features and bond weights), AdamW lr 3e-3, batch 64, 20 epochs, best validation epoch (on the data the
  run is allowed to see: old validation for the provider, old + new for joint training, new validation otherwise). The provider
  trains the solver and a GAN (`molnb.replay.Gan`, 100 epochs, lr 1e-3, batch 32, best MMD) on the old data only.
- Rows, all from the same pretrained solver and with the same budget: naive fine-tuning on the new data; learning
  without forgetting (distillation on the new data, T = 2); public replay (molecules only: as many MOSES molecules as
  new ones, labelled by the pretrained solver and mixed in with their share of the count); generative replay, steps 1-3
  (`replay(..., steps=3)`); the full method, steps 1-5 (`replay`); joint training on old + new (the upper bound).
- Reported: old-test, new-test and their average; forgetting (old-test metric of the pretrained solver minus after,
  sign-adjusted so that positive is worse); the share of the gap between naive fine-tuning and joint training that a
  row closes on the average metric, as a ratio of means over seeds (mean gain over naive / mean gap of joint over naive,
  the denominator reported), with a seed-bootstrap 95 % interval (seeds resampled together for both means).
  The steps 1-3 row is the full run's solver after step 2 (step 3 updates only the generator handed on); its seconds
  are those of steps 2 and 3.
  For graphs the GAN makes soft graphs (`GanConfig(graph=...)`) and trains 30 epochs, step 4 optimises 64 soft graphs for
  at most 100 steps (a soft graph's pairs make a GNN's cost grow with the square of its atoms: at the vector settings,
  step 4 alone would take over 20 minutes a seed here), public replay uses MOSES molecules as soft graphs, and the report
  adds the share of generated and of optimised soft graphs that decode to something RDKit accepts (and, in runs since
  December 2026, to one connected molecule: a valid molecule), as decoded and after
  the valence correction (`SoftGraphSpec.decode(..., correct=True)`), side by side.
- Always Be Dreaming's pitfall and remedy (digits, lipo and bbbp; separate runs, keyed `.../remedy`, from the same
  seeded provider): the domain probe (`molnb.replay.domain_probe`: cross-validated ROC-AUC of a logistic regression
  telling 500 generated samples from the old training samples, on raw inputs and on the pretrained solver's features),
  and steps 1-3 and 1-5 with the remedy (`replay(..., remedy=1.0)`: `DreamingTask`, a local loss on real samples, the
  head trained on detached features by every part, importance-weighted feature distillation with mu = 1).
- A perfect generator, as a diagnostic (every scenario; separate runs keyed `.../oracle`, from the same seeded
  provider's solver): steps 1-2 with real old training inputs in place of generated ones (as many as new samples, a
  seeded draw), labelled by the pretrained solver and mixed in with their share of the count. The method cannot have
  these inputs; the row shows how much of the gap replay could close if the generator made the old data itself.
- The method with a SMILES generator (lipo and bbbp, as ECFP4 and as graphs; separate runs keyed `.../smiles`):
  `molnb.replay_molecules.SmilesGenerator`, a GRU language model (384 wide, 2 layers) pretrained for 3 epochs on 30,000 MOSES
  molecules (seed 0, every lipo and bbbp molecule left out), fine-tuned per seed on the old training molecules (20
  epochs, early stopping on the old validation molecules), then `replay` steps 1-5 at the settings above; its step 3 is
  likelihood on the new molecules, 5 epochs (step 3 makes the generator for the next update and changes no metric here). The report adds its valid and novel shares and the domain probe of its samples.
Each seed re-trains the provider's solver and GAN. Full-mode runs are kept in `benchmarks/runs/replay.jsonl`
(`common.RunLog`, one line per scenario and seed, keyed by the settings and `REVISION`, which is bumped when a change
to `molnb.replay` changes results), so the full mode is built up over several sittings; quick runs in `$MOLNB_CACHE/bench`.
"""
from common import RunLog, command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, copy, datetime, json, os, statistics, time
from pathlib import Path

NAME = 'replay'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
MODES = {'full': dict(scenarios=['digits', 'lipo', 'bbbp', 'lipo (graphs)', 'bbbp (graphs)'], seeds=[0, 1, 2, 3, 4], epochs=20, gan_epochs=100, update_epochs=30, sample=None,
                 graph=dict(gan_epochs=30, inputs=64, input_steps=100)),
         'quick': dict(scenarios=['digits', 'bbbp', 'bbbp (graphs)'], seeds=[0], epochs=4, gan_epochs=10, update_epochs=3, sample=400,
                  graph=dict(gan_epochs=10, inputs=32, input_steps=20))}
REVISION = 2  # 2: soft-graph scenarios, runs kept in benchmarks/runs (bump when molnb.replay's results change)
GRAPH_ATOMS = 38  # the most atoms a soft graph holds in the graph scenarios
GRAPH_SOLVER = dict(kind='gnn', hidden=128, layers=3)
ORACLE = 'old inputs replayed (a perfect generator)'  # a diagnostic, not a peer: steps 1-2 with real old inputs, which the method cannot have
SMILES_ROWS = ['steps 1-3, SMILES generator', 'steps 1-5, SMILES generator']  # the method with `SmilesGenerator` in place of the GAN
ROWS = ['naive fine-tuning', 'learning without forgetting', 'public replay', 'steps 1-3 (generative replay)', 'steps 1-5 (the method)',
        'steps 1-3 + ABD remedy', 'steps 1-5 + ABD remedy', *SMILES_ROWS, ORACLE, 'joint (upper bound)']
# the provider's SMILES language model: pretrained once on a MOSES sample (seed 0, the scenarios' molecules left out), fine-tuned per seed on the old training molecules
SMILES_LM = {'full': dict(scenarios=['lipo', 'bbbp', 'lipo (graphs)', 'bbbp (graphs)'], corpus=30_000, epochs=3, hidden=384, layers=2, finetune_epochs=20, update_epochs=5),
             'quick': dict(scenarios=['bbbp'], corpus=3_000, epochs=3, hidden=128, layers=2, finetune_epochs=3, update_epochs=1, batch=32, lr=3e-3)}  # a smoke test: about 1 in 14 of the corpus model's samples valid, 1 in 30 after fine-tuning (128 wide: CI's 3 minutes)
REMEDY_SCENARIOS = {'full': ['digits', 'lipo', 'bbbp'], 'quick': ['digits', 'bbbp']}  # where the remedy rows run (kept apart from MODES: adding them left the kept runs valid)
REMEDY_MU = 1.0  # Always Be Dreaming's feature-distillation weight in the remedy rows (`replay(..., remedy=REMEDY_MU)`)
METRIC = {'multiclass': 'accuracy', 'classification': 'roc_auc', 'regression': 'rmse'}
BATCH, LR, BOOTSTRAP = 64, 3e-3, 2000


# ---------------------------------------------------------------- scenarios
def thirds(part, seed:int=0) -> tuple:
    "Seeded 70/15/15 train/validation/test of an ArraySet."
    import numpy as np
    p = np.random.default_rng(seed).permutation(len(part)); a, b = int(0.7 * len(p)), int(0.85 * len(p))
    return part[p[:a]], part[p[a:b]], part[p[b:]]


def scaffold_halves(ds) -> tuple:
    "Positions of the two scaffold clusters of a MolDataset (larger first): Murcko scaffolds' ECFP4, k-means with 2 clusters."
    import numpy as np
    from sklearn.cluster import KMeans
    from molnb.data import scaffold_groups
    from molnb.featurize import ecfp
    groups = scaffold_groups(ds.smiles)
    keys = list(groups)
    fp = ecfp(keys)  # acyclic molecules share the empty scaffold: one all-zero point
    lab = KMeans(2, n_init=10, random_state=0).fit_predict(fp)
    halves = [np.array(sorted(i for k, l in zip(keys, lab) if l == c for i in groups[k])) for c in (0, 1)]
    return tuple(sorted(halves, key=len, reverse=True))


def scenario(name:str, mode:str) -> dict:
    "The old and new parts (train, valid, test ArraySets each), the solver settings and, for molecules, the public pool."
    import dataclasses, numpy as np, torch
    from molnb.featurize import ArraySet, featurize, fingerprint_set
    if name == 'digits':
        from sklearn.datasets import load_digits
        d = load_digits()
        pix = ArraySet(d.images.reshape(len(d.images), -1) / 16, d.target, task='multiclass', targets=['digit'], name='digits')
        old, new = pix[pix.y[:, 0] < 5], pix[pix.y[:, 0] >= 5]
        return dict(old=thirds(old), new=thirds(new), outputs=10, classes=[0, 1, 2, 3, 4], task='multiclass', public=None,
                    sizes=(len(old), len(new)), solver={})
    from molnb.data import load_moleculenet
    ds = load_moleculenet(name.replace(' (graphs)', ''), quiet=True)
    a, b = scaffold_halves(ds)
    if not name.endswith(' (graphs)'):
        fx = fingerprint_set(ds)
        return dict(old=thirds(fx[a]), new=thirds(fx[b]), outputs=fx.y.shape[1], classes=None, task=fx.task, public='fingerprints', sizes=(len(a), len(b)), solver={})
    from molnb.replay import soft_graph_set
    n = MODES[mode]['sample']
    if n: a, b = (np.sort(np.random.default_rng(0).permutation(h)[:n // 2]) for h in (a, b))
    old = soft_graph_set(featurize(ds.subset(a), quiet=True), atoms=GRAPH_ATOMS)  # the size prior from the old molecules: what the provider knows
    new = soft_graph_set(featurize(ds.subset(b), quiet=True), spec=old.spec)
    return dict(old=thirds(old), new=thirds(new), outputs=old.y.shape[1], classes=None, task=old.task, public='graphs', sizes=(len(old), len(new)),
                left_out=(len(old.rejected), len(new.rejected)), solver=dict(GRAPH_SOLVER, graph=dataclasses.asdict(old.spec)), spec=old.spec)


def public_pool(n:int, exclude:list, seed:int, spec=None):
    "n MOSES molecules (seeded sample, minus the scenario's own molecules) as fingerprints, or as soft graphs of `spec`."
    from molnb.data import load_moses
    from molnb.featurize import featurize, fingerprint_set
    mols = load_moses(n, seed=seed, exclude=exclude, quiet=True)
    if spec is None: return fingerprint_set(mols)
    from molnb.replay import soft_graph_set
    return soft_graph_set(featurize(mols, quiet=True), spec=spec)


# ---------------------------------------------------------------- one seed of one scenario
def evaluate(solver, sc) -> tuple:
    from molnb.replay import evaluate_solver
    m = METRIC[solver.cfg.task]
    return evaluate_solver(solver, sc['old'][2])[m], evaluate_solver(solver, sc['new'][2])[m]


def fit_solver(model, train, valid, seed:int, epochs:int, task=None):
    import torch
    from molnb.replay import SolverTask
    from molnb.train import Trainer
    torch.manual_seed(seed)
    return Trainer(model, train, valid, task=task or SolverTask(), epochs=epochs, batch_size=BATCH, lr=LR, seed=seed, quiet=True).fit()


def by_count(parts:dict, seed:int):
    "New samples mixed with replayed ones, each part's loss weighted by its share of the total count (as `replay_batches` weighs generated ones)."
    from molnb.train import MixedBatches
    total = sum(len(v) for v in parts.values())
    return MixedBatches(parts, {k: len(v) / total for k, v in parts.items()}, BATCH, seed)


def provider_solver(sc:dict, seed:int, mode:str):
    "The provider's solver, trained on the old data only (seeded: the same for every run of a seed)."
    import torch
    from molnb.replay import Solver, SolverConfig
    otr, ova, _ = sc['old']
    torch.manual_seed(seed)
    solver = Solver(SolverConfig(shape=list(otr.shape), outputs=sc['outputs'], task=sc['task'], classes=sc['classes'], **sc['solver']))
    fit_solver(solver, otr, ova, seed, MODES[mode]['epochs'])
    return solver


def provider(sc:dict, seed:int, mode:str) -> tuple:
    "The provider's solver and GAN, trained on the old data only (seeded: the same for every run of a seed), and the rows list opened with the pretrained solver's metrics."
    import torch
    from molnb.replay import Gan, GanTask, gan_config
    from molnb.train import Trainer
    s, (otr, ova, _) = MODES[mode], sc['old']
    t0 = time.perf_counter()
    solver = provider_solver(sc, seed, mode)
    torch.manual_seed(seed)
    gan = Gan(gan_config(otr))
    Trainer(gan, otr, ova, task=GanTask(seed=seed), epochs=budgets(sc, mode).get('gan_epochs', s['gan_epochs']), batch_size=32, lr=1e-3, schedule='constant', seed=seed, quiet=True).fit()
    before = evaluate(solver, sc)
    return solver, gan, [dict(row='pretrained', old=before[0], new=before[1], seconds=round(time.perf_counter() - t0, 1))]


def budgets(sc:dict, mode:str) -> dict:
    "Soft graphs: the GAN's and step 4's budgets (dense graphs cost O(atoms^2)); vectors: the defaults."
    return MODES[mode]['graph'] if sc.get('spec') is not None else {}


def adder(out:list, name:str, seed:int, sc:dict):
    "A function recording a row's old and new test metrics and its seconds in `out`."
    def add(row, model, t):
        o, n = evaluate(model, sc); out.append(dict(row=row, old=o, new=n, seconds=round(time.perf_counter() - t, 1))); log(f"{name} seed {seed} {row}: old {o:.3f} new {n:.3f}")
    return add


def run_seed(name:str, sc:dict, seed:int, mode:str) -> list:
    "The provider's solver and GAN, then every row, for one seed: a list of result rows."
    import torch
    from molnb.featurize import ArraySet
    from molnb.replay import SolverTask, solver_targets
    s = MODES[mode]
    (otr, ova, ote), (ntr, nva, nte) = sc['old'], sc['new']
    fit = lambda model, train, valid, task=None: fit_solver(model, train, valid, seed, s['epochs'], task)
    solver, gan, out = provider(sc, seed, mode)
    add = adder(out, name, seed, sc)
    t = time.perf_counter(); m = copy.deepcopy(solver); fit(m, ntr, nva); add('naive fine-tuning', m, t)
    t = time.perf_counter(); m = copy.deepcopy(solver); fit(m, ntr, nva, SolverTask(teacher=solver)); add('learning without forgetting', m, t)
    if sc['public']:
        t = time.perf_counter()
        pool = public_pool(len(ntr), list(otr.smiles) + list(ntr.smiles) + list(ova.smiles) + list(nva.smiles) + list(ote.smiles) + list(nte.smiles), seed, sc.get('spec'))
        pub = ArraySet(pool.x, solver_targets(solver, pool.x), sc['task'], ntr.targets, 'public (MOSES)')
        m = copy.deepcopy(solver); fit(m, by_count({'new': ntr, 'public': pub}, seed), nva); add('public replay', m, t)
    t = time.perf_counter()  # steps 1-3's solver is the full run's trained solver (the same seeded path up to step 3)
    r5 = run_replay(solver, gan, sc, seed, mode)
    add('steps 1-3 (generative replay)', r5.trained, t); add('steps 1-5 (the method)', r5.solver, t)
    out[-2]['seconds'] = r5.seconds[2] + r5.seconds[3]
    if sc.get('spec') is not None:  # graphs: how many soft graphs decode to a molecule RDKit accepts
        from molnb.replay import valid_fraction
        from rdkit import Chem
        from rdkit.Chem.rdMolDescriptors import CalcNumRings
        ringed = lambda smi: sum(CalcNumRings(Chem.MolFromSmiles(m)) > 0 for m in smi if m) / max(1, sum(m is not None for m in smi))  # chains are what a collapsed generator makes
        made = gan.generator.sample(500, torch.Generator().manual_seed(seed))
        dec, fixed, opt = sc['spec'].decode(made), sc['spec'].decode(made, correct=True), sc['spec'].decode(r5.inputs.x)
        accepted = lambda smi: valid_fraction(smi, connected=False)  # the kept runs' columns: what RDKit accepts, fragments and all
        out[-1].update(valid_generated=accepted(dec), distinct_generated=len({m for m in dec if m}), valid_optimised=accepted(opt),
                       connected_generated=valid_fraction(dec), connected_optimised=valid_fraction(opt),
                       valid_generated_corrected=accepted(fixed), distinct_generated_corrected=len({m for m in fixed if m}), ringed_generated_corrected=ringed(fixed),
                       valid_optimised_corrected=accepted(sc['spec'].decode(r5.inputs.x, correct=True)))
    t = time.perf_counter()
    both = lambda a, b: ArraySet(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]), a.task, a.targets, 'old + new')
    m = copy.deepcopy(solver); fit(m, both(otr, ntr), both(ova, nva)); add('joint (upper bound)', m, t)
    return out


def run_replay(solver, gan, sc:dict, seed:int, mode:str, remedy:float|None=None, update_epochs:int|None=None, optimised:str='soft'):
    "`replay`, steps 1-5, at the benchmark's settings (with Always Be Dreaming's remedy when `remedy` is given; step 3's epochs `update_epochs` when given; step 5's optimised inputs as `optimised` says, named here so that a new default of `replay` leaves the kept runs valid)."
    from molnb.replay import replay
    s, gs, (ntr, nva, _) = MODES[mode], budgets(sc, mode), sc['new']
    return replay(solver, gan, ntr, nva, steps=5, epochs=s['epochs'], lr=LR, gan_epochs=update_epochs or s['update_epochs'], inputs=gs.get('inputs'),
                  input_steps=gs.get('input_steps', 300), remedy=remedy, optimised=optimised, seed=seed)


def run_remedy(name:str, sc:dict, seed:int, mode:str) -> list:
    "The domain probes and Always Be Dreaming's remedy for one seed, from the same seeded provider as `run_seed` (its pretrained row tagged, to check that)."
    import torch
    from molnb.replay import domain_probe
    solver, gan, out = provider(sc, seed, mode)
    out[0]['row'] = 'pretrained (remedy run)'
    made, real = gan.generator.sample(500, torch.Generator().manual_seed(seed)), sc['old'][0].x
    out[0].update(probe_inputs=domain_probe(made, real), probe_features=domain_probe(made, real, solver))
    log(f"{name} seed {seed} domain probe: inputs {out[0]['probe_inputs']:.3f}, features {out[0]['probe_features']:.3f}")
    add, t = adder(out, name, seed, sc), time.perf_counter()
    r5 = run_replay(solver, gan, sc, seed, mode, remedy=REMEDY_MU)
    add('steps 1-3 + ABD remedy', r5.trained, t); add('steps 1-5 + ABD remedy', r5.solver, t)
    out[-2]['seconds'] = r5.seconds[2] + r5.seconds[3]
    return out


def run_oracle(name:str, sc:dict, seed:int, mode:str) -> list:
    "What a perfect generator would give: steps 1-2 with real old training inputs (as many as new samples, seeded) in place of generated ones, labelled by the pretrained solver."
    import torch
    from molnb.featurize import ArraySet
    from molnb.replay import solver_targets
    (otr, _, _), (ntr, nva, _) = sc['old'], sc['new']
    t = time.perf_counter()
    solver = provider_solver(sc, seed, mode)
    o, n = evaluate(solver, sc)
    out = [dict(row='pretrained (oracle run)', old=o, new=n, seconds=round(time.perf_counter() - t, 1))]
    x = otr.x[torch.randperm(len(otr), generator=torch.Generator().manual_seed(seed))[:len(ntr)]]
    old = ArraySet(x, solver_targets(solver, x), sc['task'], ntr.targets, 'old inputs')
    t, m = time.perf_counter(), copy.deepcopy(solver)
    fit_solver(m, by_count({'new': ntr, 'old': old}, seed), nva, seed, MODES[mode]['epochs']); adder(out, name, seed, sc)(ORACLE, m, t)
    return out


def corpus_language_model(mode:str):
    "The provider's SMILES generator before fine-tuning: trained on a MOSES sample without any scenario's molecules (cached per mode and settings)."
    import torch
    from molnb.core import cache_dir, cache_key
    from molnb.data import load_moleculenet, load_moses
    from molnb.replay_molecules import SmilesGenerator, smiles_generator
    s = SMILES_LM[mode]
    own = {k: s.get(k) for k in ('corpus', 'epochs', 'hidden', 'layers', 'batch', 'lr')}  # the corpus model's settings only: fine-tuning ones leave it valid
    folder = cache_dir()/'bench'/f"replay-lm-{mode}-{cache_key(json.dumps(own, sort_keys=True))[:10]}"
    if (folder/'smiles_generator.json').exists(): return SmilesGenerator.load(folder)
    exclude = [m for name in ('lipo', 'bbbp') for m in load_moleculenet(name, quiet=True).smiles]
    corpus = load_moses(s['corpus'], seed=0, exclude=exclude, quiet=True).smiles
    t = time.perf_counter()
    torch.manual_seed(0)
    lm = smiles_generator(corpus, dict(kind='ecfp', radius=2, bits=2048), epochs=s['epochs'], hidden=s['hidden'], layers=s['layers'],
                          batch_size=s.get('batch', 128), lr=s.get('lr', 2e-3), seed=0, quiet=False)
    made = lm.sample_smiles(500, torch.Generator().manual_seed(0))
    log(f"corpus language model: {len(corpus):,} MOSES molecules, {s['epochs']} epochs, {time.perf_counter() - t:.0f} s, {sum(m is not None for m in made) / 5:.0f} % of 500 samples valid")
    lm.save(folder)
    return lm


def smiles_provider(sc:dict, seed:int, mode:str) -> tuple:
    "The provider's solver and SMILES generator (the corpus model fine-tuned on the old training molecules), seeded."
    import torch
    from molnb.replay_molecules import smiles_generator
    (otr, ova, _), s = sc['old'], SMILES_LM[mode]
    solver = provider_solver(sc, seed, mode)
    torch.set_num_threads(2)  # the language model, unlike the solver, is large enough to gain from both cores
    gen = smiles_generator(otr.smiles, otr, start=corpus_language_model(mode), valid=ova.smiles, epochs=s['finetune_epochs'], lr=1e-3, seed=seed)
    torch.set_num_threads(1)
    return solver, gen


def run_smiles(name:str, sc:dict, seed:int, mode:str) -> list:
    "The method with a SMILES generator: the corpus model fine-tuned on the old training molecules (the provider's side, seeded), then `replay` steps 1-5."
    import torch
    from molnb.replay import domain_probe
    otr, s = sc['old'][0], SMILES_LM[mode]
    t = time.perf_counter()
    solver, gen = smiles_provider(sc, seed, mode)
    o, n = evaluate(solver, sc)
    out = [dict(row='pretrained (SMILES run)', old=o, new=n, seconds=round(time.perf_counter() - t, 1))]
    made = gen.sample(500, torch.Generator().manual_seed(seed))
    old = set(otr.smiles)
    out[0].update(valid_smiles=gen.valid_fraction, distinct_smiles=len(set(gen.last_smiles)), novel_smiles=sum(m not in old for m in gen.last_smiles) / len(made),
                  probe_inputs=domain_probe(made, otr.x), probe_features=domain_probe(made, otr.x, solver))
    log(f"{name} seed {seed} SMILES generator: {gen.valid_fraction:.0%} valid, {out[0]['novel_smiles']:.0%} not in the old training set, probe {out[0]['probe_inputs']:.3f}")
    add, t = adder(out, name, seed, sc), time.perf_counter()
    r5 = run_replay(solver, gen, sc, seed, mode, update_epochs=s['update_epochs'])
    add(SMILES_ROWS[0], r5.trained, t); add(SMILES_ROWS[1], r5.solver, t)
    out[-2]['seconds'] = r5.seconds[2] + r5.seconds[3]
    return out


# ---------------------------------------------------------------- summaries
SMALL_GAP = 0.01  # a naive-to-joint gap below this (metric units) leaves the gap-closed ratio to noise

def method_targets(name:str, full:dict, three:dict|None, naive_r:dict, pub:dict|None) -> list:
    "The issue's targets for one form of the method (steps 1-5 with the GAN, or with the SMILES generator) against its peers in one scenario."
    ts = [target(f'{name}: share of the naive-to-joint gap the method closes (average metric)', full['gap_closed'], '>=', 0.5,
                 note=f"95 % interval {full['gap_interval'][0]:.2f} to {full['gap_interval'][1]:.2f}, {full['seeds']} seeds")]
    if naive_r['forgetting'] > 0: ts.append(target(f"{name}: the method's forgetting / naive fine-tuning's", full['forgetting'] / naive_r['forgetting'], '<=', 0.5))
    else: ts.append(target(f"{name}: the method's forgetting / naive fine-tuning's", None, '<=', 0.5, note=f"n/a: naive fine-tuning does not forget here ({naive_r['forgetting']:+.3f})"))
    rel = (naive_r['new'] - full['new']) / abs(naive_r['new']) * (-1 if full['metric'] == 'rmse' else 1)
    ts.append(target(f"{name}: new-test metric worse than naive fine-tuning's by (relative)", rel, '<=', 0.05))
    if three: ts.append(target(f'{name}: the method minus steps 1-3 (gap closed)', full['gap_closed'] - three['gap_closed'], '>=', 0.0))
    if pub: ts.append(target(f'{name}: the method minus public replay (gap closed)', full['gap_closed'] - pub['gap_closed'], '>=', 0.0))
    return ts


def row_summary(rs:list, row:str) -> dict|None:
    "One row of one scenario's runs `rs` over the seeds it shares with the pretrained, naive and joint rows: its metrics, forgetting, and the share of the naive-to-joint gap it closes (ratio of means, seed-bootstrap 95 % interval); None when it has no such seed."
    import numpy as np
    sign = -1.0 if rs[0]['metric'] == 'rmse' else 1.0
    by = lambda row: {r['seed']: r for r in rs if r['row'] == row}
    pre, naive, joint, mine = by('pretrained'), by('naive fine-tuning'), by('joint (upper bound)'), by(row)
    ks = [k for k in sorted(set(pre) & set(naive) & set(joint)) if k in mine]
    if not ks: return None
    avg = lambda r: (r['old'] + r['new']) / 2
    gain = np.array([sign * (avg(mine[k]) - avg(naive[k])) for k in ks])  # positive: better than naive
    room = np.array([sign * (avg(joint[k]) - avg(naive[k])) for k in ks])  # the gap joint training opens over naive
    forget = [sign * (pre[k]['old'] - mine[k]['old']) for k in ks]
    naive_forget = [sign * (pre[k]['old'] - naive[k]['old']) for k in ks]
    closed = float(gain.mean() / room.mean()) if room.mean() else float('nan')
    iv = [float('nan')] * 2
    if len(ks) > 1 and room.mean():
        idx = np.random.default_rng(0).integers(0, len(ks), (BOOTSTRAP, len(ks)))
        boot = gain[idx].mean(1) / room[idx].mean(1)
        iv = [float(x) for x in np.percentile(boot[np.isfinite(boot)], [2.5, 97.5])]
    return dict(row=row, metric=rs[0]['metric'], seeds=len(ks), old=statistics.mean(mine[k]['old'] for k in ks),
                new=statistics.mean(mine[k]['new'] for k in ks), average=statistics.mean(avg(mine[k]) for k in ks),
                old_std=statistics.stdev([mine[k]['old'] for k in ks]) if len(ks) > 1 else 0.0,
                forgetting=statistics.mean(forget), naive_forgetting=statistics.mean(naive_forget), gap=float(room.mean()),
                gap_closed=closed, gap_interval=iv, seconds=statistics.mean(mine[k]['seconds'] for k in ks))


def summarise(runs:list, mode:str) -> tuple:
    s, rows, ts = MODES[mode], [], []
    for name in s['scenarios']:
        rs = [r for r in runs if r['scenario'] == name]
        if not rs: continue
        rows += [dict(scenario=name, **x) for x in (row_summary(rs, row) for row in ROWS) if x is not None]
        get = lambda row: next((r for r in rows if r['scenario'] == name and r['row'] == row), None)
        full, naive_r, three, pub = get('steps 1-5 (the method)'), get('naive fine-tuning'), get('steps 1-3 (generative replay)'), get('public replay')
        if full is None or naive_r is None: continue
        ts += method_targets(name, full, three, naive_r, pub)
        if (lm := get(SMILES_ROWS[1])): ts += method_targets(f'{name}, SMILES generator', lm, get(SMILES_ROWS[0]), naive_r, pub)
        if (abd := get('steps 1-5 + ABD remedy')): ts.append(target(f"{name}: the method with Always Be Dreaming's remedy minus without (gap closed)", abd['gap_closed'] - full['gap_closed'], '>=', 0.0,
                                                                note=f"{abd['seeds']} seeds"))
    return rows, ts


def _connected(dec:list) -> str:
    "The share of those that are one connected molecule (a valid molecule), where the runs recorded it."
    con = [r for r in dec if 'connected_generated' in r]
    if not con: return ' These runs did not record how many of them are one connected molecule (a valid molecule): a sample in several fragments counts here.'
    return (f" One connected molecule (a valid molecule; mean over {len(con)} seeds): the generator {statistics.mean(r['connected_generated'] for r in con):.0%}, "
            f"the optimised inputs {statistics.mean(r['connected_optimised'] for r in con):.0%}.")


def markdown(report:dict) -> str:
    out = [f"# Replay benchmark ({report['mode']})", '', f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
           f"Machine: {report['machine']['cpu']}, {report['machine']['usable_cores']} usable cores, {report['machine']['ram_gb']} GB, GPU: {report['machine']['gpu']}  ",
           'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['machine']['versions'].items()), '',
           'Protocol: see the docstring of `benchmarks/replay.py`. ' + report['status'], '']
    for name, info in report['scenarios'].items():
        rs = [r for r in report['summary'] if r['scenario'] == name]
        if not rs: continue
        m = rs[0]['metric']
        out += [f"## {name}: old {info['sizes'][0]:,}, new {info['sizes'][1]:,} samples; test {m}" + (' (lower is better)' if m == 'rmse' else ''), '']
        if 'left_out' in info: out += [f"Left out as larger than {GRAPH_ATOMS} atoms: {info['left_out'][0]:,} old and {info['left_out'][1]:,} new molecules.", '']
        dec = [r for r in report['rows'] if r['scenario'] == name and 'valid_generated' in r]
        if dec: out += [f"Soft graphs that decode to something RDKit accepts, fragments and all (mean over {len(dec)} seeds): the provider's generator "
                        f"{statistics.mean(r['valid_generated'] for r in dec):.0%} of 500 ({statistics.mean(r['distinct_generated'] for r in dec):.0f} distinct), "
                        f"step 4's optimised inputs {statistics.mean(r['valid_optimised'] for r in dec):.0%}." + _connected(dec), '']
        probes = [r for r in report['rows'] if r['scenario'] == name and 'probe_inputs' in r and r['row'] == 'pretrained (remedy run)']
        same = [abs(r['old'] - m['old']) for r in report['rows'] if r['scenario'] == name and r['row'] in ('pretrained (remedy run)', 'pretrained (oracle run)', 'pretrained (SMILES run)')
                for m in report['rows'] if m['scenario'] == name and m['row'] == 'pretrained' and m['seed'] == r['seed']]
        if probes: out += [f"Domain probe (`domain_probe`: cross-validated ROC-AUC of a logistic regression telling 500 generated samples from the old training samples; "
                           f"0.5 = indistinguishable, mean over {len(probes)} seeds): raw inputs {statistics.mean(r['probe_inputs'] for r in probes):.3f}, "
                           f"the pretrained solver's features {statistics.mean(r['probe_features'] for r in probes):.3f}.", '']
        lms = [r for r in report['rows'] if r['scenario'] == name and 'valid_smiles' in r]
        if lms: out += [f"SMILES generator (mean over {len(lms)} seeds, 500 samples): {statistics.mean(r['valid_smiles'] for r in lms):.0%} of its draws valid and readable, "
                        f"{statistics.mean(r['distinct_smiles'] for r in lms):.0f} distinct, {statistics.mean(r['novel_smiles'] for r in lms):.0%} not in the old training set; "
                        f"domain probe {statistics.mean(r['probe_inputs'] for r in lms):.3f} on inputs, {statistics.mean(r['probe_features'] for r in lms):.3f} in the solver's features (the GAN's above).", '']
        if same: out += [f"The remedy, perfect-generator and SMILES-generator rows come from separate runs that retrain the provider with the same seeds; its old-test metric differs from the main runs' by at most {max(same):.4f}.", '']
        fix = [r for r in dec if 'valid_generated_corrected' in r]
        if fix: out += [f"After the valence correction (`decode(..., correct=True)`, mean over {len(fix)} seeds): the generator "
                        f"{statistics.mean(r['valid_generated_corrected'] for r in fix):.0%} ({statistics.mean(r['distinct_generated_corrected'] for r in fix):.0f} distinct, "
                        f"{statistics.mean(r['ringed_generated_corrected'] for r in fix):.0%} of them with a ring), "
                        f"the optimised inputs {statistics.mean(r['valid_optimised_corrected'] for r in fix):.0%}.", '']
        out += [
                f"Gap of joint training over naive fine-tuning on the average metric: {rs[0]['gap']:+.3f}." +
                (' **Too small for the share of it a row closes to mean much: naive fine-tuning hardly forgets here.**' if abs(rs[0]['gap']) < SMALL_GAP else ''), '',
                md_table(['row', 'seeds', 'old test', 'new test', 'average', 'forgetting', 'gap closed (95 % interval)', 'seconds'],
                         [[r['row'], r['seeds'], f"{r['old']:.3f} ± {r['old_std']:.3f}", f"{r['new']:.3f}", f"{r['average']:.3f}", f"{r['forgetting']:+.3f}",
                           f"{r['gap_closed']:.2f} ({r['gap_interval'][0]:.2f} to {r['gap_interval'][1]:.2f})", f"{r['seconds']:.0f}"] for r in rs]), '']
    out += ['Anchor: Always Be Dreaming (CIFAR-100, 5 tasks) reached 43.9 % against 16.4 % for fine-tuning and 69.9 % for joint training, closing about half of the gap.', '',
            '## Targets', '', targets_table(report['targets']), '']
    return '\n'.join(out)


def main(args):
    import torch
    from molnb.core import cache_dir, cache_key
    mode = 'quick' if args.quick else 'full'
    s = MODES[mode]
    os.environ.setdefault('MOLNB_DATA', str(DEFAULT_DATA))
    torch.set_num_threads(1)  # small networks: one thread is faster than two that contend
    unknown = set(args.scenarios or []) - set(s['scenarios'])
    if unknown: raise SystemExit(f"unknown scenarios {sorted(unknown)} in {mode} mode; choose from {s['scenarios']}")
    digest = cache_key(json.dumps(s, sort_keys=True), BATCH, LR, GRAPH_ATOMS, json.dumps(GRAPH_SOLVER, sort_keys=True))[:10]
    kept = RunLog(NAME, None if mode == 'full' else cache_dir()/'bench'/f'replay-{mode}')  # full mode: committed beside the results
    key = lambda name, seed: f'{name}/{seed}/r{REVISION}/{digest}'
    chosen = [] if args.report else args.scenarios or s['scenarios']
    jobs = ([(n, '', run_seed) for n in chosen] + [(n, '/remedy', run_remedy) for n in chosen if n in REMEDY_SCENARIOS[mode]]
            + [(n, '/oracle', run_oracle) for n in chosen] + [(n, '/smiles', run_smiles) for n in chosen if n in SMILES_LM[mode]['scenarios']])
    for name, tag, run in jobs:
        sc = None
        for seed in s['seeds']:
            if kept.get(key(name, seed) + tag): continue
            sc = sc or scenario(name, mode)
            rows = run(name, sc, seed, mode)
            kept.add(dict(key=key(name, seed) + tag, scenario=name, seed=seed, metric=METRIC[sc['task']], revision=REVISION,
                          date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                          info=dict(sizes=sc['sizes'], **({'left_out': sc['left_out']} if 'left_out' in sc else {})), rows=rows))
    records = [kept.get(key(name, seed)) for name in s['scenarios'] for seed in s['seeds'] if kept.get(key(name, seed))]
    separate = [kept.get(key(name, seed) + tag) for tag in ('/remedy', '/oracle', '/smiles') for name in s['scenarios'] for seed in s['seeds'] if kept.get(key(name, seed) + tag)]
    runs = [dict(r, scenario=rec['scenario'], seed=rec['seed'], metric=rec['metric']) for rec in records + separate for r in rec['rows']]
    info = {rec['scenario']: rec['info'] for rec in records}
    summary, ts = summarise(runs, mode)
    want = len(s['scenarios']) * len(s['seeds'])
    status = f"All {want} scenario-seeds are in." if len(records) >= want else f"**Incomplete: {len(records)} of {want} scenario-seeds in** (kept; run the command again to continue)."
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                  machine=machine_info(), settings=dict(batch=BATCH, lr=LR, revision=REVISION, graph_atoms=GRAPH_ATOMS, graph_solver=GRAPH_SOLVER, **s),
                  status=status, scenarios=info, summary=summary, rows=runs, targets=ts)
    md, js = write_results(NAME, report, markdown(report), args.quick)
    log(f"wrote {md} and {js}: {status}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: digits, bbbp and bbbp (graphs), 1 seed, few epochs')
    ap.add_argument('--scenarios', nargs='+', help='run only these scenarios (the report covers every kept run)')
    ap.add_argument('--report', action='store_true', help='write the report from the kept runs, training nothing')
    main(ap.parse_args())
