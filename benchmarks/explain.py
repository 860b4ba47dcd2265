#!/usr/bin/env python
"""Explanation benchmark: do molnb's explanations point at the atoms and the group that truly decide a label?

    python benchmarks/explain.py            # full: five known-cause tasks, seeds 0-2, up to 100 explained test molecules per run
    python benchmarks/explain.py --quick    # quick: the benzene task, seed 0, 1,500 molecules, 40 explained (a smoke test)

Known causes. Every label is defined by a substructure, on real molecules: the distinct canonical SMILES of esol, freesolv,
lipo, bbbp and bace read from `$MOLNB_DATA` (default `../shared/data/moleculenet`). Tasks (label 1 when the molecule has):
benzene (a benzene ring), fluoride_carbonyl (a fluorine and a carbonyl, GraphXAI's FluorideCarbonyl), nitro, carboxylic_acid
(the acid or its anion) and halogenated_aromatic (an aromatic ring carrying F, Cl, Br or I). The true atoms of a molecule are
those the task's patterns match (for halogenated_aromatic: the halogen and its ring).

Protocol, per task and seed: random 80/10/10 split (`molnb.data.random_split`, seed s); a GIN classifier (hidden 64, 3
layers, 30 epochs, lr 2e-3, the engine's defaults otherwise) trained on the training part; then every test molecule that is a
positive the model gets right (probability > 0.5), up to `--explain` of them, is explained with `molnb.explain.explain`
(integrated gradients through PyG's CaptumExplainer, groups ranked by occlusion) and scored:
- attribution ROC-AUC: the atoms' |saliency| against the true atoms, per molecule, then averaged (the measure of
  Sanchez-Lengeling et al. 2020); molecules whose atoms are all true are left out (no negatives);
- explanation accuracy: the Jaccard index of the k atoms with the largest |saliency| (k = the number of true atoms) and the
  true atoms (GraphXAI's graph explanation accuracy, with a top-k mask);
- named first: whether the first group of the explanation is a true one (at least half of its atoms are true atoms), and
  named in top 3: whether one of its first three groups is;
- the same two atom measures for random scores (the floor).
Reported: mean and standard deviation over seeds; targets are compared in code. Runs are cached in
`$MOLNB_CACHE/bench/explain-<mode>.jsonl`, so an interrupted run resumes. Writes `benchmarks/results/explain.{md,json}`
(full) or `explain.quick.{md,json}`.
"""
from common import command_line, log, machine_info, md_table, target, targets_table, write_results
import argparse, datetime, json, os, statistics, time
from pathlib import Path

NAME = 'explain'
REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent/'shared'/'data'/'moleculenet'
SOURCES = ['esol', 'freesolv', 'lipo', 'bbbp', 'bace']
TASKS = {  # task -> SMARTS that must all be present (each entry: alternatives, any of which counts)
    'benzene': [['c1ccccc1']],
    'fluoride_carbonyl': [['[F]'], ['[CX3]=[OX1]']],
    'nitro': [['[N+](=O)[O-]', '[NX3](=O)=O']],
    'carboxylic_acid': [['[CX3](=O)[OX2H1]', '[CX3](=O)[OX1-]']],
    'halogenated_aromatic': [['a[F,Cl,Br,I]']],
}
MODE = {'quick': dict(tasks=['benzene'], seeds=[0], molecules=1500, explain=40, epochs=15),
        'full': dict(tasks=list(TASKS), seeds=[0, 1, 2], molecules=None, explain=100, epochs=30)}
MODEL = dict(encoder='gin', hidden=64, layers=3)
ANCHORS = {'benzene': 0.37, 'fluoride_carbonyl': 0.13}  # GraphXAI's best graph explanation accuracy (Agarwal et al. 2023)


def molecules(data:Path, n:int|None) -> list:
    "Distinct canonical SMILES of the source sets (a seeded sample of `n` of them when given)."
    import numpy as np
    from molnb.data import load_moleculenet
    smiles = sorted({s for name in SOURCES for s in load_moleculenet(name, root=data, quiet=True).smiles})
    if n is not None and n < len(smiles): smiles = [smiles[i] for i in sorted(np.random.default_rng(0).choice(len(smiles), n, replace=False))]
    return smiles


def truth(task:str, mol) -> set:
    "The atoms that decide `task` for `mol` (empty when the label is 0)."
    from rdkit import Chem
    found = []
    for alternatives in TASKS[task]:
        hits = {a for s in alternatives for m in mol.GetSubstructMatches(Chem.MolFromSmarts(s)) for a in m}
        if not hits: return set()
        found.append(hits)
    atoms = set().union(*found)
    if task == 'halogenated_aromatic':  # the halogen and the whole aromatic ring it sits on
        rings = [set(r) for r in mol.GetRingInfo().AtomRings()]
        atoms = set().union(*[{a} | r for a in atoms if mol.GetAtomWithIdx(a).GetAtomicNum() in (9, 17, 35, 53)
                              for b in mol.GetAtomWithIdx(a).GetNeighbors() for r in rings if b.GetIdx() in r])
    return atoms


def run(task:str, seed:int, smiles:list, cfg:dict) -> dict:
    "Train the task's classifier and score the explanations of its correctly predicted test positives."
    import numpy as np, pandas as pd, torch
    from rdkit import Chem
    from sklearn.metrics import roc_auc_score
    from molnb.data import from_frame, random_split
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train, predict_tensor
    from molnb.explain import explain
    t0 = time.perf_counter()
    y = [float(bool(truth(task, Chem.MolFromSmiles(s)))) for s in smiles]
    ds = from_frame(pd.DataFrame({'smiles': smiles, task: y}), targets=[task], task='classification', quiet=True)
    parts = random_split(ds, seed=seed).apply(ds)
    tr, va, te = (featurize(p, quiet=True) for p in parts)
    torch.manual_seed(seed)
    res = train(PropertyModel(ModelConfig(**MODEL, task='classification', targets=[task])), tr, va, te, epochs=cfg['epochs'], lr=2e-3, seed=seed, quiet=True)
    prob = predict_tensor(res.model, te).numpy()[:, 0]
    picked = [s for s, p, t in zip(te.smiles, prob, te.y.numpy()[:, 0]) if t == 1 and p > 0.5][:cfg['explain']]
    rng, rows = np.random.default_rng(seed), []
    torch.set_num_threads(1)  # one molecule at a time: too small for several threads, which only contend (see the notes)
    for s in picked:
        e = explain(res.model, s)
        true = truth(task, Chem.MolFromSmiles(s)); n = len(e.atoms)
        is_true = np.array([i in true for i in range(n)])
        score, rand = np.abs(e.atoms), rng.random(n)
        top_k = lambda v: set(np.argsort(-v, kind='stable')[:len(true)].tolist())
        jac = lambda sel: len(sel & true) / len(sel | true)
        is_true_group = lambda atoms: bool(atoms) and sum(a in true for a in atoms) >= len(atoms) / 2
        first = e.groups.atoms.iloc[0] if len(e.groups) else ()
        rows.append(dict(auroc=roc_auc_score(is_true, score) if 0 < is_true.sum() < n else None,
                         auroc_random=roc_auc_score(is_true, rand) if 0 < is_true.sum() < n else None,
                         accuracy=jac(top_k(score)), accuracy_random=jac(top_k(rand)),
                         named_first=is_true_group(first), named_top3=any(is_true_group(a) for a in e.groups.atoms.head(3))))
    torch.set_num_threads(cfg['threads'])
    mean = lambda k: (statistics.mean(v) if (v := [r[k] for r in rows if r[k] is not None]) else None)
    return dict(task=task, seed=seed, n_molecules=len(ds), positives=float(np.mean(y)), n_train=len(tr), n_test=len(te),
                test_roc_auc=res.test.get('roc_auc'), explained=len(rows), attribution_auroc=mean('auroc'), attribution_auroc_random=mean('auroc_random'),
                explanation_accuracy=mean('accuracy'), explanation_accuracy_random=mean('accuracy_random'),
                named_first=mean('named_first'), named_top3=mean('named_top3'), seconds=round(time.perf_counter() - t0, 1))


def summarise(runs:list, tasks:list) -> list:
    "Per task: mean and std over seeds of every measure."
    keys = ['test_roc_auc', 'attribution_auroc', 'attribution_auroc_random', 'explanation_accuracy', 'explanation_accuracy_random', 'named_first', 'named_top3']
    rows = []
    for t in tasks:
        rs = [r for r in runs if r['task'] == t]
        if not rs: continue
        row = dict(task=t, seeds=[r['seed'] for r in rs], positives=rs[0]['positives'], n_molecules=rs[0]['n_molecules'], explained=sum(r['explained'] for r in rs))
        for k in keys:
            v = [r[k] for r in rs if r[k] is not None]
            row[k] = statistics.mean(v) if v else None
            row[k + '_std'] = statistics.stdev(v) if len(v) > 1 else 0.0
        rows.append(row)
    return rows


def targets(rows:list) -> list:
    by = {r['task']: r for r in rows}
    ts = []
    if 'benzene' in by: ts.append(target('benzene: attribution ROC-AUC of the absolute integrated gradients against the ring atoms', by['benzene']['attribution_auroc'], '>=', 0.95))
    for t, r in by.items(): ts.append(target(f'{t}: correctly predicted positives whose first group is a true one', r['named_first'], '>=', 0.9))
    for t, anchor in ANCHORS.items():
        if t in by: ts.append(target(f"{t}: explanation accuracy (top-k Jaccard) above GraphXAI's best ({anchor})", by[t]['explanation_accuracy'], '>=', anchor))
    return ts


def fmt(v, std=None) -> str:
    if v is None: return 'n/a'
    return f'{v:.3f}' + (f' ± {std:.3f}' if std else '')


def markdown(report:dict) -> str:
    m, v = report['machine'], report['machine']['versions']
    lines = [[r['task'], f"{r['positives'] * 100:.1f} %", fmt(r['test_roc_auc'], r['test_roc_auc_std']), r['explained'],
              fmt(r['attribution_auroc'], r['attribution_auroc_std']), fmt(r['attribution_auroc_random']),
              fmt(r['explanation_accuracy'], r['explanation_accuracy_std']), fmt(r['explanation_accuracy_random']),
              fmt(r['named_first'], r['named_first_std']), fmt(r.get('named_top3'), r.get('named_top3_std'))] for r in report['rows']]
    out = [f"# Explanation benchmark ({report['mode']})", '',
           f"Command: `{report['command']}`  ", f"Date: {report['date']}; the runs took {report['run_seconds'] / 60:.0f} min (this invocation {report['seconds'] / 60:.0f} min; saved runs are reused)  ",
           f"Machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['ram_gb']} GB, GPU: {m['gpu']}  ",
           f"Versions: python {v['python']}, torch {v['torch']}, torch_geometric {v['torch_geometric']}, rdkit {v['rdkit']}, molnb {v['molnb']}, captum {v.get('captum')}", '',
           f"Molecules: the distinct canonical SMILES of {', '.join(SOURCES)} ({report['rows'][0]['n_molecules'] if report['rows'] else 0}); "
           f"model {report['model']}, {report['epochs']} epochs, seeds {report['seeds']}; up to {report['explain']} correctly predicted test positives explained per run "
           "(`molnb.explain.explain`: integrated gradients, groups ranked by occlusion).", '',
           '## Targets', '', targets_table(report['targets']), '', '## Results', '',
           md_table(['task', 'positives', 'model test ROC-AUC', 'explained', 'attribution ROC-AUC', '(random)', 'explanation accuracy', '(random)', 'named first', 'named in top 3'], lines), '',
           'Attribution ROC-AUC and explanation accuracy: mean over the explained molecules of a run, then mean ± std over seeds; '
           '(random): the same measures for random atom scores. Named first: share of the explained molecules whose first group '
           '(largest occlusion effect) has at least half of its atoms among the true atoms; named in top 3: one of the first three groups is. '
           'Groups are ranked by the size of their occlusion effect in logits; a ring system yields to one of its rings only when that ring has '
           'at least 90 % of its effect (`molnb.explain.PARSIMONY`).', '']
    if report.get('notes'): out += ['## Notes', ''] + [f'- {n}' for n in report['notes']] + ['']
    return '\n'.join(out)


def main(args):
    import torch
    from molnb.core import cache_dir
    mode = 'quick' if args.quick else 'full'
    cfg = dict(MODE[mode], threads=args.threads); cfg.update({k: v for k, v in dict(explain=args.explain, epochs=args.epochs).items() if v})
    tasks, seeds = args.tasks or cfg['tasks'], list(range(args.seeds)) if args.seeds else cfg['seeds']
    torch.set_num_threads(args.threads)
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    missing = [s for s in SOURCES if not (data/f'{s}.csv').exists()]
    if missing: raise SystemExit(f"MoleculeNet CSVs {missing} not found in {data}: set MOLNB_DATA to the folder holding them")
    partial = cache_dir()/'bench'/f"explain-{mode}-e{cfg['epochs']}-x{cfg['explain']}.jsonl"
    partial.parent.mkdir(parents=True, exist_ok=True)
    runs = [json.loads(l) for l in partial.read_text().splitlines()] if partial.exists() and not args.fresh else []
    t0 = time.perf_counter()
    smiles = molecules(data, cfg['molecules'])
    log(f"{mode}: {len(smiles)} molecules, tasks {tasks}, seeds {seeds}; {len(runs)} runs saved ({partial})")
    for t in tasks:
        for s in seeds:
            if any(r['task'] == t and r['seed'] == s for r in runs): continue
            r = run(t, s, smiles, cfg); runs.append(r)
            with partial.open('a') as f: f.write(json.dumps(r) + '\n')
            log(f"  {t} seed {s}: model ROC-AUC {r['test_roc_auc']:.3f}, {r['explained']} explained, attribution AUROC {fmt(r['attribution_auroc'])}, "
                f"accuracy {fmt(r['explanation_accuracy'])}, named first {fmt(r['named_first'])} ({r['seconds']:.0f} s)")
    runs = [r for r in runs if r['task'] in tasks and r['seed'] in seeds]
    import captum
    rows = summarise(runs, tasks)
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now().isoformat(timespec='seconds'), machine=machine_info(captum=captum.__version__),
                  model=MODEL, epochs=cfg['epochs'], seeds=seeds, explain=cfg['explain'], tasks=tasks, rows=rows, targets=targets(rows),
                  seconds=time.perf_counter() - t0, run_seconds=sum(r['seconds'] for r in runs), notes=args.note or [], runs=runs)
    md, js = write_results(NAME, report, markdown(report), args.quick)
    log(f"wrote {md} and {js}")
    print(markdown(report))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='the benzene task, seed 0, 1,500 molecules, 40 explained')
    ap.add_argument('--tasks', nargs='+', choices=list(TASKS), help='only these tasks')
    ap.add_argument('--seeds', type=int, help='seeds 0 .. N-1')
    ap.add_argument('--explain', type=int, help='explained molecules per run')
    ap.add_argument('--epochs', type=int, help="the classifier's epochs")
    ap.add_argument('--threads', type=int, default=2, help='torch threads for training (default 2; explanations use one)')
    ap.add_argument('--note', action='append', help="a line for the report's notes; repeatable")
    ap.add_argument('--fresh', action='store_true', help='ignore runs saved by an earlier run')
    main(ap.parse_args())
