#!/usr/bin/env python
"""Explanation benchmark: do molnb's explanations point at the atoms and the group that truly decide a label?

    python benchmarks/explain.py            # full: five known-cause tasks and two real sets, seeds 0-2, up to 100 explained test molecules per run
    python benchmarks/explain.py --quick    # quick: the benzene task (1,500 molecules, 40 explained) and bbbp (5 epochs, 10 explained), seed 0: a smoke test

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
- the same two atom measures for random scores (the floor);
- the aspect-recognition route: aspect recognisers (`molnb.explain.fit_aspects`, at the encoder's output, fitted on the
  training part) read the atom vectors the prediction relied on (`explain(..., aspects=)`); aspects named first: the first
  characteristic they report is a true one (one of its occurrences in the molecule has at least half of its atoms true), and
  the recognisers' own held-out ROC-AUC (median over characteristics);
- the model-randomisation check (`randomization_check`): Spearman correlation of |saliency| between the trained model and a
  re-initialised copy, over the first 20 explained molecules (low: the explanation depends on the training).

Real sets, where no true atoms are known: bbbp (p_np) and tox21 (all twelve tasks trained, NR-AhR explained), scaffold split
(`molnb.data.scaffold_split`, balanced, seed s), molnb's default GIN (30 epochs). Up to `--explain` random test molecules
are explained and scored with `molnb.explain.faithfulness`: areas under the deletion and insertion curves (atoms blanked,
or restored, in order of saliency toward the predicted class), PyG's fidelity+ / fidelity- of the atoms holding 80 % of the
|saliency| and PyG's characterization score, each beside a random atom order; plus the randomisation check and the aspect
recognisers' held-out ROC-AUC.
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
REAL = {'bbbp': 'p_np', 'tox21': 'NR-AhR'}  # real set -> the explained task
MODE = {'quick': dict(tasks=['benzene'], seeds=[0], molecules=1500, explain=40, epochs=15, real=['bbbp'], real_explain=10, real_epochs=5),
        'full': dict(tasks=list(TASKS), seeds=[0, 1, 2], molecules=None, explain=100, epochs=30, real=list(REAL), real_explain=100, real_epochs=30)}
CHECKED = 20  # molecules per run in the randomisation check
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
    from rdkit import Chem, rdBase
    from sklearn.metrics import roc_auc_score
    from molnb.data import from_frame, random_split
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train, predict_tensor
    from molnb.explain import explain, fit_aspects, randomization_check
    t0 = time.perf_counter()
    with rdBase.BlockLogs(): y = [float(bool(truth(task, Chem.MolFromSmiles(s)))) for s in smiles]
    ds = from_frame(pd.DataFrame({'smiles': smiles, task: y}), targets=[task], task='classification', quiet=True)
    parts = random_split(ds, seed=seed).apply(ds)
    tr, va, te = (featurize(p, quiet=True) for p in parts)
    torch.manual_seed(seed)
    res = train(PropertyModel(ModelConfig(**MODEL, task='classification', targets=[task])), tr, va, te, epochs=cfg['epochs'], lr=2e-3, seed=seed, quiet=True)
    prob = predict_tensor(res.model, te).numpy()[:, 0]
    picked = [s for s, p, t in zip(te.smiles, prob, te.y.numpy()[:, 0]) if t == 1 and p > 0.5][:cfg['explain']]
    rng, rows = np.random.default_rng(seed), []
    torch.set_num_threads(1)  # one molecule at a time: too small for several threads, which only contend (see the notes)
    aspects = fit_aspects(res.model, tr.smiles, seed=seed, quiet=True)
    for s in picked:
        e = explain(res.model, s, aspects=aspects)
        true = truth(task, Chem.MolFromSmiles(s)); n = len(e.atoms)
        is_true = np.array([i in true for i in range(n)])
        score, rand = np.abs(e.atoms), rng.random(n)
        top_k = lambda v: set(np.argsort(-v, kind='stable')[:len(true)].tolist())
        jac = lambda sel: len(sel & true) / len(sel | true)
        is_true_group = lambda atoms: bool(atoms) and sum(a in true for a in atoms) >= len(atoms) / 2
        first = e.groups.atoms.iloc[0] if len(e.groups) else ()
        true_aspect = lambda name: any(is_true_group(a) for g, a in zip(e.groups.group, e.groups.atoms) if g == name)
        rows.append(dict(aspect_named_first=true_aspect(e.aspects.characteristic.iloc[0]), aspect_named_top3=any(map(true_aspect, e.aspects.characteristic.head(3))),auroc=roc_auc_score(is_true, score) if 0 < is_true.sum() < n else None,
                         auroc_random=roc_auc_score(is_true, rand) if 0 < is_true.sum() < n else None,
                         accuracy=jac(top_k(score)), accuracy_random=jac(top_k(rand)),
                         named_first=is_true_group(first), named_top3=any(is_true_group(a) for a in e.groups.atoms.head(3))))
    spearman = randomization_check(res.model, picked[:CHECKED], seed=seed).spearman.dropna()
    torch.set_num_threads(cfg['threads'])
    mean = lambda k: (statistics.mean(v) if (v := [r[k] for r in rows if r[k] is not None]) else None)
    return dict(task=task, seed=seed, n_molecules=len(ds), positives=float(np.mean(y)), n_train=len(tr), n_test=len(te),
                test_roc_auc=res.test.get('roc_auc'), explained=len(rows), attribution_auroc=mean('auroc'), attribution_auroc_random=mean('auroc_random'),
                explanation_accuracy=mean('accuracy'), explanation_accuracy_random=mean('accuracy_random'),
                named_first=mean('named_first'), named_top3=mean('named_top3'), aspect_named_first=mean('aspect_named_first'), aspect_named_top3=mean('aspect_named_top3'),
                aspects=len(aspects.names), aspects_auroc=float(aspects.quality.roc_auc.median()), randomization_spearman=float(spearman.mean()) if len(spearman) else None,
                seconds=round(time.perf_counter() - t0, 1))


def real_run(name:str, seed:int, data:Path, cfg:dict) -> dict:
    "Train molnb's default GIN on a real set (scaffold split) and score the faithfulness of its explanations, beside a random atom order."
    import numpy as np, torch
    from molnb.data import load_moleculenet, scaffold_split
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import train
    from molnb.explain import faithfulness, characterization, fit_aspects, randomization_check
    t0 = time.perf_counter()
    ds = load_moleculenet(name, root=data, quiet=True)
    tr, va, te = (featurize(p, quiet=True) for p in scaffold_split(ds, seed=seed, balanced=True).apply(ds))
    torch.manual_seed(seed)
    res = train(PropertyModel(ModelConfig(task='classification', n_tasks=len(ds.targets), targets=list(ds.targets))), tr, va, te, epochs=cfg['real_epochs'], seed=seed, quiet=True)
    task = REAL[name]
    picked = [te.smiles[i] for i in sorted(np.random.default_rng(seed).choice(len(te), min(cfg['real_explain'], len(te)), replace=False))]
    torch.set_num_threads(1)
    f = faithfulness(res.model, picked, task=task, seed=seed)
    spearman = randomization_check(res.model, picked[:CHECKED], task=task, seed=seed).spearman.dropna()
    aspects = fit_aspects(res.model, tr.smiles, seed=seed, quiet=True)
    torch.set_num_threads(cfg['threads'])
    m = {k: float(f[k].mean()) for k in f.columns if k not in ('smiles', 'atoms')}
    return dict(kind='real', set=name, task=task, seed=seed, n_molecules=len(ds), n_train=len(tr), n_test=len(te), test_roc_auc=res.test.get(f'roc_auc[{task}]'),
                explained=len(f), **m, characterization=characterization(m['fid_plus'], m['fid_minus']), characterization_random=characterization(m['fid_plus_random'], m['fid_minus_random']),
                randomization_spearman=float(spearman.mean()) if len(spearman) else None, aspects=len(aspects.names), aspects_auroc=float(aspects.quality.roc_auc.median()),
                seconds=round(time.perf_counter() - t0, 1))


def summarise(runs:list, tasks:list) -> list:
    "Per task: mean and std over seeds of every measure."
    keys = ['test_roc_auc', 'attribution_auroc', 'attribution_auroc_random', 'explanation_accuracy', 'explanation_accuracy_random', 'named_first', 'named_top3',
            'aspect_named_first', 'aspect_named_top3', 'aspects_auroc', 'randomization_spearman']
    rows = []
    for t in tasks:
        rs = [r for r in runs if r['task'] == t and r.get('kind') != 'real']
        if not rs: continue
        row = dict(task=t, seeds=[r['seed'] for r in rs], positives=rs[0]['positives'], n_molecules=rs[0]['n_molecules'], explained=sum(r['explained'] for r in rs))
        rows.append(dict(row, **spread(rs, keys)))
    return rows


def spread(rs:list, keys:list) -> dict:
    "Mean and standard deviation over runs of each key (None where no run has it)."
    out = {}
    for k in keys:
        v = [r[k] for r in rs if r.get(k) is not None]
        out[k], out[k + '_std'] = (statistics.mean(v) if v else None), (statistics.stdev(v) if len(v) > 1 else 0.0)
    return out


REAL_KEYS = ['test_roc_auc', 'deletion', 'deletion_random', 'insertion', 'insertion_random', 'fid_plus', 'fid_plus_random', 'fid_minus', 'fid_minus_random',
             'characterization', 'characterization_random', 'randomization_spearman', 'aspects_auroc']


def summarise_real(runs:list, sets:list) -> list:
    "Per real set: mean and std over seeds, and the paired differences from the random order."
    rows = []
    for name in sets:
        rs = [r for r in runs if r.get('kind') == 'real' and r['set'] == name]
        if not rs: continue
        for r in rs: r.update({f'{k}_gain': r[k] - r[f'{k}_random'] for k in ('deletion', 'insertion', 'fid_plus', 'fid_minus', 'characterization')})
        rows.append(dict(set=name, task=rs[0]['task'], seeds=[r['seed'] for r in rs], n_molecules=rs[0]['n_molecules'], explained=sum(r['explained'] for r in rs),
                         **spread(rs, REAL_KEYS + [f'{k}_gain' for k in ('deletion', 'insertion', 'fid_plus', 'fid_minus', 'characterization')])))
    return rows


def targets(rows:list, real:list) -> list:
    by = {r['task']: r for r in rows}
    ts = []
    if 'benzene' in by: ts.append(target('benzene: attribution ROC-AUC of the absolute integrated gradients against the ring atoms', by['benzene']['attribution_auroc'], '>=', 0.95))
    for t, r in by.items(): ts.append(target(f'{t}: correctly predicted positives whose first group is a true one', r['named_first'], '>=', 0.9))
    for t, anchor in ANCHORS.items():
        if t in by: ts.append(target(f"{t}: explanation accuracy (top-k Jaccard) above GraphXAI's best ({anchor})", by[t]['explanation_accuracy'], '>=', anchor))
    for t, r in by.items():
        if r.get('aspect_named_first') is not None: ts.append(target(f'{t}, aspect recognisers: the first characteristic the model relied on is a true one', r['aspect_named_first'], '>=', 0.9))
    for r in real:
        ts.append(target(f"{r['set']}: deletion AUC minus random order's (lower is better)", r['deletion_gain'], '<=', 0.0))
        ts.append(target(f"{r['set']}: insertion AUC minus random order's", r['insertion_gain'], '>=', 0.0))
        ts.append(target(f"{r['set']}: characterization score minus random atoms'", r['characterization_gain'], '>=', 0.0))
        ts.append(target(f"{r['set']}: randomisation check, Spearman of trained against re-initialised saliency (at most 0.5)", r['randomization_spearman'], '<=', 0.5))
    return ts


def fmt(v, std=None) -> str:
    if v is None: return 'n/a'
    return f'{v:.3f}' + (f' ± {std:.3f}' if std else '')


def markdown(report:dict) -> str:
    m, v = report['machine'], report['machine']['versions']
    lines = [[r['task'], f"{r['positives'] * 100:.1f} %", fmt(r['test_roc_auc'], r['test_roc_auc_std']), r['explained'],
              fmt(r['attribution_auroc'], r['attribution_auroc_std']), fmt(r['attribution_auroc_random']),
              fmt(r['explanation_accuracy'], r['explanation_accuracy_std']), fmt(r['explanation_accuracy_random']),
              fmt(r['named_first'], r['named_first_std']), fmt(r.get('named_top3'), r.get('named_top3_std')),
              fmt(r.get('aspect_named_first'), r.get('aspect_named_first_std')), fmt(r.get('aspects_auroc')), fmt(r.get('randomization_spearman'), r.get('randomization_spearman_std'))] for r in report['rows']]
    pair = lambda r, k: f"{fmt(r[k], r[k + '_std'])} ({fmt(r[k + '_random'])})"
    real = [[f"{r['set']} ({r['task']})", fmt(r['test_roc_auc'], r['test_roc_auc_std']), r['explained'], pair(r, 'deletion'), pair(r, 'insertion'),
             pair(r, 'fid_plus'), pair(r, 'fid_minus'), pair(r, 'characterization'), fmt(r['randomization_spearman'], r['randomization_spearman_std']), fmt(r['aspects_auroc'])]
            for r in report.get('real_rows', [])]
    out = [f"# Explanation benchmark ({report['mode']})", '',
           f"Command: `{report['command']}`  ", f"Date: {report['date']}; the runs took {report['run_seconds'] / 60:.0f} min (this invocation {report['seconds'] / 60:.0f} min; saved runs are reused)  ",
           f"Machine: {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['ram_gb']} GB, GPU: {m['gpu']}  ",
           f"Versions: python {v['python']}, torch {v['torch']}, torch_geometric {v['torch_geometric']}, rdkit {v['rdkit']}, molnb {v['molnb']}, captum {v.get('captum')}", '',
           f"Molecules: the distinct canonical SMILES of {', '.join(SOURCES)} ({report['rows'][0]['n_molecules'] if report['rows'] else 0}); "
           f"model {report['model']}, {report['epochs']} epochs, seeds {report['seeds']}; up to {report['explain']} correctly predicted test positives explained per run "
           "(`molnb.explain.explain`: integrated gradients, groups ranked by occlusion).", '',
           '## Targets', '', targets_table(report['targets']), '', '## Results', '',
           md_table(['task', 'positives', 'model test ROC-AUC', 'explained', 'attribution ROC-AUC', '(random)', 'explanation accuracy', '(random)', 'named first', 'named in top 3',
                     'aspects named first', 'aspect recognisers ROC-AUC', 'randomisation Spearman'], lines), '',
           'Attribution ROC-AUC and explanation accuracy: mean over the explained molecules of a run, then mean ± std over seeds; '
           '(random): the same measures for random atom scores. Named first: share of the explained molecules whose first group '
           '(largest occlusion effect) has at least half of its atoms among the true atoms; named in top 3: one of the first three groups is. '
           'Groups are ranked by the size of their occlusion effect in logits; a ring system yields to one of its rings only when that ring has '
           'at least 90 % of its effect (`molnb.explain.PARSIMONY`). Aspects named first: the first characteristic the aspect recognisers find in the atoms '
           'holding 80 % of the encoder-layer saliency is a true one; aspect recognisers ROC-AUC: their median held-out ROC-AUC over characteristics. '
           f'Randomisation Spearman: |saliency| of the trained model against a re-initialised copy, mean over the first {CHECKED} explained molecules (low is good).', '']
    if real:
        out += ['## Real sets: faithfulness', '', f"molnb's default GIN, {report.get('real_epochs')} epochs, balanced scaffold split, up to {report.get('real_explain')} random test molecules per seed "
                '(`molnb.explain.faithfulness`); each cell: mean ± std over seeds, (the random atom order).', '',
                md_table(['set (explained task)', 'model test ROC-AUC', 'explained', 'deletion AUC (lower)', 'insertion AUC', 'fidelity+', 'fidelity- (lower)', 'characterization',
                          'randomisation Spearman', 'aspect recognisers ROC-AUC'], real), '']
    if report.get('notes'): out += ['## Notes', ''] + [f'- {n}' for n in report['notes']] + ['']
    return '\n'.join(out)


def main(args):
    import torch
    from molnb.core import cache_dir
    mode = 'quick' if args.quick else 'full'
    cfg = dict(MODE[mode], threads=args.threads); cfg.update({k: v for k, v in dict(explain=args.explain, epochs=args.epochs).items() if v})
    tasks, seeds = args.tasks or cfg['tasks'], list(range(args.seeds)) if args.seeds else cfg['seeds']
    sets = cfg['real'] if args.real is None else args.real
    torch.set_num_threads(args.threads)
    data = Path(os.environ.get('MOLNB_DATA') or DEFAULT_DATA)
    missing = [s for s in SOURCES if not (data/f'{s}.csv').exists()]
    if missing: raise SystemExit(f"MoleculeNet CSVs {missing} not found in {data}: set MOLNB_DATA to the folder holding them")
    partial = cache_dir()/'bench'/f"explain-{mode}-e{cfg['epochs']}-x{cfg['explain']}-v2.jsonl"
    partial.parent.mkdir(parents=True, exist_ok=True)
    runs = [json.loads(l) for l in partial.read_text().splitlines()] if partial.exists() and not args.fresh else []
    t0 = time.perf_counter()
    smiles = molecules(data, cfg['molecules'])
    log(f"{mode}: {len(smiles)} molecules, tasks {tasks}, seeds {seeds}; {len(runs)} runs saved ({partial})")
    for t in tasks:
        for s in seeds:
            if any(r['task'] == t and r['seed'] == s and r.get('kind') != 'real' for r in runs): continue
            r = run(t, s, smiles, cfg); runs.append(r)
            with partial.open('a') as f: f.write(json.dumps(r) + '\n')
            log(f"  {t} seed {s}: model ROC-AUC {r['test_roc_auc']:.3f}, {r['explained']} explained, attribution AUROC {fmt(r['attribution_auroc'])}, "
                f"accuracy {fmt(r['explanation_accuracy'])}, named first {fmt(r['named_first'])} ({r['seconds']:.0f} s)")
    for name in sets:
        for s in seeds:
            if any(r.get('kind') == 'real' and r['set'] == name and r['seed'] == s for r in runs): continue
            r = real_run(name, s, data, cfg); runs.append(r)
            with partial.open('a') as f: f.write(json.dumps(r) + '\n')
            log(f"  {name} seed {s}: model ROC-AUC {fmt(r['test_roc_auc'])}, {r['explained']} explained, deletion {fmt(r['deletion'])} (random {fmt(r['deletion_random'])}), "
                f"insertion {fmt(r['insertion'])} ({fmt(r['insertion_random'])}), characterization {fmt(r['characterization'])} ({fmt(r['characterization_random'])}) ({r['seconds']:.0f} s)")
    runs = [r for r in runs if r['seed'] in seeds and (r['set'] in sets if r.get('kind') == 'real' else r['task'] in tasks)]
    import captum
    rows, real_rows = summarise(runs, tasks), summarise_real(runs, sets)
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now().isoformat(timespec='seconds'), machine=machine_info(captum=captum.__version__),
                  model=MODEL, epochs=cfg['epochs'], seeds=seeds, explain=cfg['explain'], tasks=tasks, rows=rows, targets=targets(rows, real_rows),
                  real_sets=sets, real_epochs=cfg['real_epochs'], real_explain=cfg['real_explain'], real_rows=real_rows,
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
    ap.add_argument('--real', nargs='*', choices=list(REAL), help='real sets for the faithfulness measures (default: the mode\'s; none with no names)')
    ap.add_argument('--threads', type=int, default=2, help='torch threads for training (default 2; explanations use one)')
    ap.add_argument('--note', action='append', help="a line for the report's notes; repeatable")
    ap.add_argument('--fresh', action='store_true', help='ignore runs saved by an earlier run')
    main(ap.parse_args())
