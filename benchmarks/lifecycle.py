#!/usr/bin/env python
"""One model's whole life (issue 41), measured: pretrained encoders per chip, the curriculum on a pretrained encoder, and replay of a fine-tuned pretrained model.

    python benchmarks/lifecycle.py                # full mode (hours on 2 cores: every run is kept, run it again to go on)
    python benchmarks/lifecycle.py --quick --fresh  # a smoke test: a tiny corpus and space, two sets, two seeds, a few epochs
    python benchmarks/lifecycle.py --report       # the report from the runs kept so far, training nothing
    python benchmarks/lifecycle.py --threads 1    # leave a core free for other work

Protocol (stage `chips`).
- Corpus: a seeded sample of the MOSES training set (100,000 molecules in full mode) minus every molecule of the
  downstream test splits of the sets below (canonical SMILES), as `benchmarks/pretrain.py` does.
- Super-network: `molnb.chip_encoders.pretrain_search` (contrastive pretraining by the sandwich rule, the shipped
  encoders' recipe) over GIN widths 32-128, depths 1-4, mean or max readout and head widths 64 or 128 (64
  structures; the largest, GIN 128 x 4 with a 128-wide head, is the full-size shipped architecture), 3 epochs, then
  every structure indexed: the label-free score (InfoNCE on the 5 % of the corpus held out) and its latency on each
  chip for a batch of 64 corpus molecules (the structure as it is fine-tuned, encoder and head).
- Chips: cpu-1 (PyTorch, one thread) and onnx-cpu (ONNX Runtime). Each chip's budget is a tenth of the full-size
  structure's latency there (the issue's target); where no structure is that fast, the fastest is taken and the
  report says so.
- Fine-tuning (every row): the encoder under a fresh MLP head of the structure's width (`finetune_model`), AdamW lr
  1e-3, batch 64, cosine, up to 40 epochs, early stopping after 10, the best validation epoch; a pretrained encoder
  trains its head alone first for `molnb.fit.FREEZE_EPOCHS` epochs (at most half the run), as `fit` does. Sets: bbbp,
  bace, clintox, sider, tox21 (Hu et al.'s scaffold split, ROC-AUC) and esol, lipo (random split, RMSE); five seeds,
  paired (seed s of every row shares the split and the fine-tuning seed).
- Rows per chip: its structure from its pretrained weights, and the same structure from scratch; beside them the
  full-size shipped encoder (`--encoder`, default the one molnb ships now). Gains: ROC-AUC points, or the RMSE's
  relative reduction in %, averaged over the sets per seed; seed-bootstrap 95 % intervals.
- Ranking: for `tau_structures` structures drawn from the space (the largest and smallest among them), each
  fine-tuned from its pretrained weights on bbbp, bace, esol and lipo (seed 0), its fine-tuned quality is its mean
  rank over those sets (test metric). Kendall's tau against it: of the label-free score, and of a linear probe
  (ridge or logistic regression on the frozen encoder's molecule vectors, trained on each set's training part and
  scored on its validation part, mean rank over the sets); the better ranker is the one to use.

Protocol (stage `curriculum`).
- The shipped encoder fine-tuned by `molnb.fit.fit` exactly as a user runs it (its split of the set by seed, an MLP
  head, the head alone first, 40 epochs, patience 10): plainly; easy to hard with molnb's default difficulty recipe
  and schedule (`curriculum='default'`); and with the schedule tuned on the validation part (`tune=6`: six trials of
  two seeds, plain training one of them). Six sets, `benchmarks/curriculum.py`'s: esol, freesolv, lipo (random),
  bbbp, bace, clintox (scaffold); five seeds, paired; gains as above.

Protocol (stage `replay`).
- lipo and bbbp split into old and new scaffold halves as soft graphs, as `benchmarks/replay.py`'s graph scenarios
  (at most 38 atoms; 70/15/15 each). Two providers per seed: the shipped encoder fine-tuned on the old molecules as
  above, and the same architecture trained from scratch; each becomes replay's solver whole (`Solver.from_model`).
  The provider's SMILES generator: `benchmarks/replay.py`'s corpus language model fine-tuned on the old molecules.
  Rows (replay's settings: AdamW lr 3e-3, batch 64, 20 epochs): naive fine-tuning on the new molecules, learning
  without forgetting, replay with the SMILES generator (steps 1-3, and 1-5), joint training on old and new; the share
  of the naive-to-joint gap each closes (`replay.row_summary`: ratio of means, seed-bootstrap interval), for both
  providers side by side.

Runs are kept in `benchmarks/runs/lifecycle-full.jsonl` and the pretrained super-network in
`benchmarks/runs/lifecycle-supernet/` (both committed; the runs that depend on the super-network carry a digest of its
weights); its pretraining checkpoint in `$MOLNB_CACHE/bench/lifecycle-full/`.
"""
from common import RunLog, command_line, log, machine_info, md_table, seed_bootstrap, target, targets_table, write_results
import pretrain as base
import replay as R
import argparse, datetime, hashlib, os, statistics, sys
from pathlib import Path

NAME = 'lifecycle'
REPO = Path(__file__).resolve().parents[1]
CLASSIFICATION, REGRESSION = ['bbbp', 'bace', 'clintox', 'sider', 'tox21'], ['esol', 'lipo']
SPLIT = {**{s: 'scaffold' for s in CLASSIFICATION}, **{s: 'random' for s in REGRESSION}}
CURRICULUM_SETS = {'esol': 'random', 'freesolv': 'random', 'lipo': 'random', 'bbbp': 'scaffold', 'bace': 'scaffold', 'clintox': 'scaffold'}  # benchmarks/curriculum.py's six
SPACE = dict(hidden=[32, 64, 96, 128], layers=[1, 2, 3, 4], pool=['mean', 'max'], head_hidden=[64, 128])
MODES = {
    'full': dict(corpus=100_000, pretrain_epochs=3, epochs=40, patience=10, seeds=[0, 1, 2, 3, 4], sets=CLASSIFICATION + REGRESSION, sample=None,
                 space=SPACE, chips=['cpu-1', 'onnx-cpu'], tau_structures=12, tau_sets=['bbbp', 'bace', 'esol', 'lipo'],
                 curriculum_sets=list(CURRICULUM_SETS), tune=6, replay_sets=['lipo', 'bbbp']),
    'quick': dict(corpus=1_500, pretrain_epochs=1, epochs=2, patience=None, seeds=[0, 1], sets=['bbbp', 'esol'], sample=300,
                  space=dict(hidden=[16, 32], layers=[1, 2], pool=['mean'], head_hidden=[32]), chips=['cpu-1'], tau_structures=4, tau_sets=['bbbp', 'esol'],
                  curriculum_sets=['esol', 'bbbp'], tune=2, replay_sets=['bbbp']),
}
LATENCY_SHARE, CLOSE_POINTS, CLOSE_RMSE, MIN_TAU = 0.1, 2.0, 5.0, 0.5  # the targets
BATCH, LR, TIMED_BATCH = 64, 1e-3, 64
PRETRAINED, SCRATCH, FULL = 'pretrained', 'scratch', 'full-size shipped encoder'
REPLAY_ROWS = ['naive fine-tuning', 'learning without forgetting', *R.SMILES_ROWS, 'joint (upper bound)']
PLAIN, DEFAULT, TUNED = 'plain fine-tuning', 'curriculum (default schedule)', 'curriculum (tuned schedule)'


class Life:
    "The mode's settings, its kept runs (committed in full mode) and its folder in `$MOLNB_CACHE`."
    def __init__(self, mode:str, encoder:str):
        from molnb.core import cache_dir
        self.mode, self.s, self.encoder = mode, MODES[mode], encoder
        self.dir = cache_dir()/'bench'/f'lifecycle-{mode}'
        self.log = RunLog('lifecycle-full') if mode == 'full' else RunLog('runs', self.dir)
        self._corpus = None
        # the pretrained super-network: full mode keeps it in the repository (about 2 MB), so a new machine reuses it instead of pretraining another, whose runs would not pair with the kept ones
        self.supernet_dir = REPO/'benchmarks'/'runs'/'lifecycle-supernet' if mode == 'full' else self.dir/'chips'

    def corpus(self):
        "The unlabelled corpus (a MolDataset) without the downstream test molecules."
        if self._corpus is None:
            from molnb.data import load_moses
            gone = base.downstream_tests(sorted(set(self.s['sets']) | set(self.s['tau_sets'])), self.s['sample'])
            self._corpus = load_moses(self.s['corpus'], seed=0, exclude=gone, quiet=True)
            if 'corpus' not in self.log.runs:
                self.log.add(dict(key='corpus', stage='corpus', sampled=self.s['corpus'], kept=len(self._corpus), rejected=len(self._corpus.rejected), downstream_test_molecules=len(gone)))
        return self._corpus


def chip_encoders(life:Life):
    "The pretrained super-network (pretrained once, then reused from its folder), its structures indexed (`molnb.chip_encoders.pretrain_search`)."
    from molnb.chip_encoders import pretrain_search
    s, folder = life.s, life.supernet_dir
    common = dict(chips=s['chips'], n=None, seed=0, quiet=not sys.stderr.isatty())
    if (folder/'supernet'/'contrastive.json').exists(): return pretrain_search(life.corpus(), supernet=folder, **common)
    log(f"pretraining the super-network on {len(life.corpus()):,} molecules, {s['pretrain_epochs']} epochs")
    res = pretrain_search(life.corpus(), **s['space'], epochs=s['pretrain_epochs'], checkpoint_dir=life.dir/'checkpoint', **common)
    res.save(folder)
    h = res.history
    life.log.add(dict(key='pretraining', stage='pretraining', epochs=len(h), seconds=round(float(h['seconds'].sum()), 1),
                      valid={k[6:]: round(float(h[k].iloc[-1]), 4) for k in h if k.startswith('valid_')}))
    return res


def choose(life:Life, index) -> tuple:
    "Each chip's budget (a tenth of the full-size structure's latency there), its structure (`molnb.hwsearch.select`: the best label-free score within it; the fastest structure where none is that fast), and the chips that fell back."
    from molnb.hwsearch import SearchSpace, select
    largest = SearchSpace(**life.s['space']).largest().key
    budgets, selection, fell_back = {}, {}, []
    for c in life.s['chips']:
        budgets[c] = float(LATENCY_SHARE * index.loc[largest, f'{c}_ms'])
        try: row = select(index, c, budgets[c])
        except ValueError as e: log(f'{e}: taking the fastest'); row = index.loc[index[f'{c}_ms'].idxmin()]; fell_back.append(c)
        selection[c] = dict(structure=row.name, score=float(row.value), latency_ms=float(row[f'{c}_ms']))
    return budgets, selection, fell_back


def corpus_graphs(life:Life):
    "The corpus's training graphs as `pretrain_search` split them (recalibration)."
    from molnb.pretrain import corpus_graphs as split
    return split(life.corpus(), None, 0, False, True)[0]


def encoder_of(model, arch:str, train):
    "Structure `arch` of the pretrained super-network (a `ContrastiveSuperNet`) as a pretrained encoder, its statistics recalibrated on `train`."
    from molnb.hwsearch import Arch, extract
    a = Arch.parse(arch)
    return extract(model.eval().supernet.calibrate(a, train), a)


def finetune(parts, encoder, pretrained:bool, seed:int, s:dict) -> dict:
    "Fine-tune `encoder` (or, not `pretrained`, the same structure freshly initialised) under an MLP head of its width; the set's test and validation metric."
    import dataclasses, torch
    from molnb.fit import FREEZE_EPOCHS
    from molnb.models import PropertyModel, finetune_model
    from molnb.train import PropertyTask, Trainer
    tr, va, te = parts
    torch.manual_seed(seed)
    if not pretrained: encoder = PropertyModel(dataclasses.replace(encoder.cfg, pretrained_only=False))
    model = finetune_model(encoder, n_tasks=len(tr.targets), task=tr.task, head='mlp')
    freeze = min(FREEZE_EPOCHS, s['epochs'] // 2) if pretrained else 0
    res = Trainer(model, tr, va, te, epochs=s['epochs'], patience=s['patience'], batch_size=BATCH, lr=LR, seed=seed, quiet=True, task=PropertyTask(freeze_epochs=freeze)).fit()
    m = tr.metric
    return dict(metric=m, test=res.test[m], valid=res.valid[m], freeze_epochs=freeze, epochs_run=len(res.history), seconds=round(res.seconds, 1), model=res.model)


def trained(*args) -> dict:
    "`finetune`'s record without the model."
    r = finetune(*args); r.pop('model'); return r


def fit_run(life:Life, name:str, row:str, seed:int) -> dict:
    "The shipped encoder fine-tuned on set `name` by `molnb.fit.fit`, as a user runs it: plainly, easy to hard with molnb's default difficulty recipe and schedule, or with the schedule tuned on validation."
    import numpy as np
    from molnb.data import load_moleculenet
    from molnb.fit import fit
    s = life.s
    ds = load_moleculenet(name, quiet=True)
    if s['sample'] and s['sample'] < len(ds): ds = ds.subset(np.sort(np.random.default_rng(0).choice(len(ds), s['sample'], replace=False)))
    curriculum = None if row == PLAIN else 'default'
    r = fit(ds, encoder_from=life.encoder, split=CURRICULUM_SETS[name], seed=seed, epochs=s['epochs'], patience=s['patience'], curriculum=curriculum,
            tune=s['tune'] if row == TUNED else None, quiet=True)
    m = r.metrics()
    metric = r.data.metric
    return dict(metric=metric, test=m['test'][metric], valid=m['valid'][metric], recipe=m['recipe'], schedule=m['schedule'], epochs_run=m['epochs_run'], seconds=m['seconds'])


def replay_provider(life:Life, sc:dict, pretrained:bool, seed:int):
    "The provider's model on the old molecules as replay's solver (`Solver.from_model`): the shipped encoder fine-tuned as `fit` does, or the same architecture from scratch."
    import pandas as pd
    from molnb.data import from_frame
    from molnb.featurize import featurize
    from molnb.pretrain import load_encoder
    from molnb.replay import Solver
    graphs = lambda part: featurize(from_frame(pd.DataFrame(dict(smiles=part.smiles, **{t: part.y[:, j].numpy() for j, t in enumerate(part.targets)})), quiet=True), quiet=True)
    otr, ova, ote = (graphs(p) for p in sc['old'])
    r = finetune((otr, ova, ote), load_encoder(life.encoder), pretrained, seed, life.s)
    return Solver.from_model(r.pop('model'), sc['spec']), r


def run_replay_seed(life:Life, name:str, seed:int) -> list:
    "One seed of the replay stage on `name`'s scaffold halves as soft graphs (`benchmarks/replay.py`): for each provider (pretrained, scratch) the pretrained row, naive fine-tuning, learning without forgetting, replay with the SMILES generator (steps 1-3 and 1-5) and joint training."
    import copy, time, torch
    from molnb.featurize import ArraySet
    from molnb.replay import SolverTask
    rm = 'quick' if life.mode == 'quick' else 'full'
    sc = R.scenario(f'{name} (graphs)', rm)
    (otr, ova, _), (ntr, nva, _) = sc['old'], sc['new']
    gen = None
    out = []
    for provider in ('pretrained', 'scratch'):
        rows = []
        t = time.perf_counter()
        solver, rec = replay_provider(life, sc, provider == 'pretrained', seed)
        o, n = R.evaluate(solver, sc)
        rows.append(dict(row='pretrained', old=o, new=n, seconds=round(time.perf_counter() - t, 1)))
        add = R.adder(rows, f'{name} ({provider} provider)', seed, sc)
        fit = lambda m, train, valid, task=None: R.fit_solver(m, train, valid, seed, R.MODES[rm]['epochs'], task)
        t = time.perf_counter(); m = copy.deepcopy(solver); fit(m, ntr, nva); add('naive fine-tuning', m, t)
        t = time.perf_counter(); m = copy.deepcopy(solver); fit(m, ntr, nva, SolverTask(teacher=solver)); add('learning without forgetting', m, t)
        if gen is None:  # the provider's SMILES generator: the corpus model fine-tuned on the old molecules, soft graphs of the scenario's spec (shared by both providers)
            from molnb.replay_molecules import smiles_generator
            torch.set_num_threads(2)
            gen = smiles_generator(otr.smiles, otr, start=R.corpus_language_model(rm), valid=ova.smiles, epochs=R.SMILES_LM[rm]['finetune_epochs'], lr=1e-3, seed=seed)
            torch.set_num_threads(life.threads)
        t = time.perf_counter()
        r5 = R.run_replay(solver, gen, sc, seed, rm, update_epochs=R.SMILES_LM[rm]['update_epochs'])
        add(R.SMILES_ROWS[0], r5.trained, t); add(R.SMILES_ROWS[1], r5.solver, t)
        t = time.perf_counter()
        both = lambda a, b: ArraySet(torch.cat([a.x, b.x]), torch.cat([a.y, b.y]), a.task, a.targets, 'old + new')
        m = copy.deepcopy(solver); fit(m, both(otr, ntr), both(ova, nva)); add('joint (upper bound)', m, t)
        out += [dict(r, provider=provider, metric=R.METRIC[sc['task']], seed=seed, set=name, finetuned=rec) for r in rows]
    return out


def probe(parts, encoder) -> float:
    "A linear probe: ridge (regression) or logistic regression (classification) on the frozen encoder's molecule vectors (its own readout), fitted on the training part; the validation metric."
    import numpy as np
    from sklearn.linear_model import LogisticRegression, Ridge
    from molnb.train import embed_tensor, metrics
    (tr, va, _), task = parts, parts[0].task
    xt, xv = (embed_tensor(encoder, gs).numpy() for gs in (tr, va))
    yt, yv = np.asarray(tr.y, float), np.asarray(va.y, float)
    pred = np.full(yv.shape, np.nan)
    for j in range(yt.shape[1]):
        m = ~np.isnan(yt[:, j])
        if task == 'regression': pred[:, j] = Ridge(alpha=1.0).fit(xt[m], yt[m, j]).predict(xv)
        elif len(np.unique(yt[m, j])) > 1: pred[:, j] = LogisticRegression(max_iter=2000).fit(xt[m], yt[m, j]).predict_proba(xv)[:, 1]
    return metrics(np.where(np.isnan(pred), np.nan, yv), np.nan_to_num(pred), task)[tr.metric]


def better(metric:str) -> int: return 1 if metric in ('roc_auc', 'pr_auc') else -1


def gain(a:float, b:float, metric:str) -> float:
    "a over b: ROC-AUC points, or the RMSE's relative reduction in % (better is positive for both)."
    return 100 * (a - b) if better(metric) > 0 else 100 * (b - a) / b


def paired_gain(runs:list, a:str, b:str, sets:list, seeds:list, chip:str|None) -> dict|None:
    "Per seed the mean over `sets` of row a's gain over row b; the mean and its seed-bootstrap 95 % interval (None until every set has both rows at >= 2 common seeds)."
    at = lambda row, name, seed: next((r for r in runs if r['row'] == row and r['set'] == name and r['seed'] == seed and r.get('chip') in (chip, None)), None)
    per_seed = []
    for seed in seeds:
        pairs = [(at(a, n, seed), at(b, n, seed)) for n in sets]
        if all(x and y for x, y in pairs): per_seed.append(statistics.mean(gain(x['test'], y['test'], x['metric']) for x, y in pairs))
    if len(per_seed) < 2: return None
    return dict(mean=statistics.mean(per_seed), interval=seed_bootstrap(per_seed), seeds=len(per_seed))


def kendall(scores:list, quality:list) -> float:
    from scipy.stats import kendalltau
    return float(kendalltau(scores, quality).statistic)


def rank_quality(rows:list, archs:list, sets:list, key:str) -> list|None:
    "Each structure's mean rank over `sets` by `key` (0 the worst; higher is better whatever the metric), or None while any is missing."
    import numpy as np
    ranks = []
    for n in sets:
        vals = [next((r[key] for r in rows if r['arch'] == a and r['set'] == n), None) for a in archs]
        if any(v is None for v in vals): return None
        m = next(r['metric'] for r in rows if r['set'] == n)
        ranks.append(np.argsort(np.argsort(better(m) * np.asarray(vals))))
    return list(np.mean(ranks, 0))


def main(args):
    import torch
    mode = 'quick' if args.quick else 'full'
    if args.fresh and mode == 'quick':
        import shutil
        shutil.rmtree(Life(mode, args.encoder).dir, ignore_errors=True)
    os.environ.setdefault('MOLNB_DATA', str(base.DEFAULT_DATA))
    torch.set_num_threads(args.threads)
    life, s = Life(mode, args.encoder), MODES[mode]
    life.threads = args.threads
    from molnb.featurize import featurize
    from molnb.hwsearch import SearchSpace
    from molnb.pretrain import load_encoder
    parts = {}
    def featurized(name):
        if name not in parts: parts[name] = tuple(featurize(d, quiet=True) for d in base.splits(name, SPLIT[name], s['sample']))
        return parts[name]
    runs = life.log.runs
    if not args.report:
        from molnb.chip_encoders import ContrastiveSuperNet
        saved = life.supernet_dir/'supernet'
        digest = lambda: hashlib.sha256((saved/'model.safetensors').read_bytes()).hexdigest()[:12]
        if 'index' not in runs or not (saved/'contrastive.json').exists() or runs['index'].get('supernet') != digest():  # pretrained and indexed once
            res = chip_encoders(life)
            budgets, selection, fell_back = choose(life, res.index)
            life.log.add(dict(key='index', stage='index', supernet=digest(), budgets=budgets, fell_back=fell_back, selection=selection,
                              index=res.index.reset_index()[['arch', 'value', 'top1', 'params', *[f'{c}_ms' for c in s['chips']]]].to_dict('records')))
        model, idx = ContrastiveSuperNet.load(saved), runs['index']
        net = idx['supernet']  # runs that depend on the super-network carry its digest: another one's never pair with them
        score = {r['arch']: r['value'] for r in idx['index']}
        train, full = corpus_graphs(life), load_encoder(args.encoder)
        # the ranking: structures fine-tuned from their pretrained weights, and probed
        for a in (a.key for a in SearchSpace(**s['space']).draw(s['tau_structures'], seed=0)):
            enc = None
            for n in s['tau_sets']:
                k = f'tau/{net}/{a}/{n}'
                if k in runs: continue
                enc = enc or encoder_of(model, a, train)
                log(f'{k}: fine-tuning and probing')
                life.log.add(dict(trained(featurized(n), enc, True, 0, s), probe=probe(featurized(n), enc), key=k, stage='tau', supernet=net, arch=a, set=n, score=score[a]))
        # per chip: its structure pretrained and from scratch; the full-size encoder beside them
        chosen = {c: encoder_of(model, sel['structure'], train) for c, sel in idx['selection'].items()}
        for seed in s['seeds']:
            for n in s['sets']:
                k = f'chips/{FULL}/{n}/{seed}'
                if k not in runs: log(k); life.log.add(dict(trained(featurized(n), full, True, seed, s), key=k, stage='chips', row=FULL, set=n, seed=seed))
                for c, enc in chosen.items():
                    a = idx['selection'][c]['structure']
                    for row in (PRETRAINED, SCRATCH):
                        k = f'chips/{net}/{c}/{a}/{row}/{n}/{seed}'
                        if k not in runs: log(k); life.log.add(dict(trained(featurized(n), enc, row == PRETRAINED, seed, s), key=k, stage='chips', supernet=net, chip=c, arch=a, row=row, set=n, seed=seed))
        # latency of each chip's model beside the full-size one, side by side on the same batch
        from molnb.hwsearch import latencies
        from molnb.models import finetune_model
        from molnb.train import collate
        lb = collate(train, range(min(TIMED_BATCH, len(train))))
        for c, enc in chosen.items():
            t = latencies([finetune_model(m, head='mlp').eval() for m in (enc, full)], c, lb, quiet=True)
            life.log.add(dict(key=f'latency/{net}/{c}', stage='latency', supernet=net, chip=c, arch=idx['selection'][c]['structure'], chip_ms=t[0]['median_ms'], full_ms=t[1]['median_ms'],
                              ratio=t[0]['median_ms'] / t[1]['median_ms']))
    if not args.report:
        for seed in s['seeds']:
            for n in s['curriculum_sets']:
                for row in (PLAIN, DEFAULT, TUNED):
                    k = f'curriculum/{row}/{n}/{seed}'
                    if k not in runs: log(k); life.log.add(dict(fit_run(life, n, row, seed), key=k, stage='curriculum', row=row, set=n, seed=seed))
    if not args.report:
        for seed in s['seeds']:
            for n in s['replay_sets']:
                k = f'replay/{n}/{seed}'
                if k not in runs: log(k); life.log.add(dict(key=k, stage='replay', set=n, seed=seed, rows=run_replay_seed(life, n, seed)))
    report = summarise(life)
    md, js = write_results(NAME, report, markdown(report), args.quick)
    log(f'wrote {md} and {js}: {report["status"]}')


def summarise(life:Life) -> dict:
    s, runs = life.s, life.log.runs
    idx = runs.get('index')
    net = idx and idx.get('supernet')
    rs = [r for r in runs.values() if r.get('stage') == 'chips' and (r['row'] == FULL or r.get('supernet') == net)]
    cls, reg = [n for n in s['sets'] if SPLIT[n] == 'scaffold'], [n for n in s['sets'] if SPLIT[n] == 'random']
    chips, ts, rows = {}, [], []
    for c, sel in (idx['selection'] if idx else {}).items():
        lat = runs.get(f'latency/{net}/{c}')
        g = {part: paired_gain(rs, PRETRAINED, SCRATCH, sets, s['seeds'], c) for part, sets in (('classification', cls), ('regression', reg)) if sets}
        vs_full = {part: paired_gain(rs, PRETRAINED, FULL, sets, s['seeds'], c) for part, sets in (('classification', cls), ('regression', reg)) if sets}
        chips[c] = dict(structure=sel['structure'], fell_back=c in idx['fell_back'], budget_ms=idx['budgets'][c], gain=g, vs_full=vs_full, latency=lat)
        for part, x in g.items():
            ts.append(target(f'{c} ({sel["structure"]}): pretrained over scratch, {part} sets ({"ROC-AUC points" if part == "classification" else "RMSE reduction, %"}), lower end of the 95 % interval',
                             None if x is None else x['interval'][0], '>', 0.0, '' if x is None else f"mean {x['mean']:+.2f}"))
        for part, what, limit in (('classification', 'ROC-AUC points', CLOSE_POINTS), ('regression', 'RMSE reduction in %', CLOSE_RMSE)):
            if part in vs_full: ts.append(target(f'{c}: chip model against the full-size encoder, {what}', None if vs_full[part] is None else vs_full[part]['mean'], '>=', -limit))
        ts.append(target(f'{c}: chip model latency / full-size latency (same batch, side by side)', None if lat is None else lat['ratio'], '<=', LATENCY_SHARE))
        for row in (PRETRAINED, SCRATCH):
            for n in s['sets']:
                xs = [r['test'] for r in rs if r.get('chip') == c and r['row'] == row and r['set'] == n]
                rows.append(dict(row=f'{c}: {sel["structure"]} {row}', set=n, mean=statistics.mean(xs) if xs else None, seeds=len(xs)))
    for n in s['sets']:
        xs = [r['test'] for r in rs if r['row'] == FULL and r['set'] == n]
        rows.append(dict(row=FULL, set=n, mean=statistics.mean(xs) if xs else None, seeds=len(xs)))
    cr = [r for r in runs.values() if r.get('stage') == 'curriculum']
    curriculum = {row: paired_gain(cr, row, PLAIN, s['curriculum_sets'], s['seeds'], None) for row in (DEFAULT, TUNED)}
    for row, g in curriculum.items():
        ts.append(target(f'{row} over plain fine-tuning of the shipped encoder, {len(s["curriculum_sets"])} sets (ROC-AUC points or RMSE reduction in %), lower end of the 95 % interval',
                         None if g is None else g['interval'][0], '>', 0.0, '' if g is None else f"mean {g['mean']:+.2f}"))
    for n in s['curriculum_sets']:
        for row in (PLAIN, DEFAULT, TUNED):
            xs = [r['test'] for r in cr if r['row'] == row and r['set'] == n]
            rows.append(dict(row=f'shipped encoder, {row}', set=n, mean=statistics.mean(xs) if xs else None, seeds=len(xs)))
    rp = [x for r in runs.values() if r.get('stage') == 'replay' for x in r['rows']]
    replay_rows = []
    for n in s['replay_sets']:
        for provider in ('pretrained', 'scratch'):
            mine = [r for r in rp if r['set'] == n and r['provider'] == provider]
            if mine: replay_rows += [dict(set=n, provider=provider, **x) for x in (R.row_summary(mine, row) for row in REPLAY_ROWS) if x is not None]
    for x in replay_rows:
        if x['provider'] == 'pretrained' and x['row'] == R.SMILES_ROWS[1]:
            ts.append(target(f"{x['set']}: replay with the SMILES generator (steps 1-5) of a fine-tuned pretrained model, share of the naive-to-joint gap closed, lower end of the 95 % interval",
                             x['gap_interval'][0] if x['seeds'] > 1 else None, '>', 0.0, f"mean {x['gap_closed']:+.2f} over {x['seeds']} seeds"))
    tau_rows = [r for r in runs.values() if r.get('stage') == 'tau' and r.get('supernet') == net]
    archs = sorted({r['arch'] for r in tau_rows})
    quality = rank_quality(tau_rows, archs, s['tau_sets'], 'test') if archs else None
    tau = None
    if quality is not None and len(archs) >= 3:
        score = [-next(r['score'] for r in tau_rows if r['arch'] == a) for a in archs]  # a lower InfoNCE is better
        probe_rank = rank_quality([dict(r, test=r['probe']) for r in tau_rows], archs, s['tau_sets'], 'test')
        tau = dict(structures=len(archs), label_free=kendall(score, quality), probe=kendall(probe_rank, quality))
    ts.append(target(f"Kendall tau, label-free score against fine-tuned quality ({len(archs)} structures)", None if tau is None else tau['label_free'], '>=', MIN_TAU))
    ts.append(target('Kendall tau, linear probe against fine-tuned quality', None if tau is None else tau['probe'], '>=', MIN_TAU))
    need = len(s['chips']) * 2 * len(s['sets']) * len(s['seeds']) + len(s['sets']) * len(s['seeds'])
    need_c, need_r = 3 * len(s['curriculum_sets']) * len(s['seeds']), len(s['replay_sets']) * len(s['seeds'])
    got_r = sum(r.get('stage') == 'replay' for r in runs.values())
    status = ('complete' if len(rs) >= need and quality is not None and len(cr) >= need_c and got_r >= need_r else
              f'incomplete: {len(rs)} of {need} chip runs, {len(tau_rows)} of {s["tau_structures"] * len(s["tau_sets"])} ranking runs, {len(cr)} of {need_c} curriculum runs, '
              f'{got_r} of {need_r} replay set-seeds (kept; run the command again to go on)')
    return dict(command=command_line(NAME), mode=life.mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), machine=machine_info(),
                settings=dict(s, encoder=life.encoder, latency_share=LATENCY_SHARE), status=status, corpus=runs.get('corpus'), pretraining=runs.get('pretraining'),
                index=idx, chips=chips, tau=tau, tau_rows=tau_rows, curriculum=curriculum, replay=replay_rows, table=rows, targets=ts,
                rows=sorted(rs + cr, key=lambda r: r['key']))


def markdown(r:dict) -> str:
    f = lambda x, p='{:+.2f}': '—' if x is None else p.format(x)
    out = [f"# One model's whole life: pretrained encoders per chip ({r['mode']} mode)", '', f"`{r['command']}` — {r['date']}; {r['machine'].get('cpu', '')}", '',
           f"**Status: {r['status']}.**", '']
    if r['index']:
        out += ['## Per chip', '', md_table(['chip', 'structure', 'budget (ms, 64 molecules)', 'pretrained − scratch: classification (points)', 'regression (RMSE −%)',
                                             'against full-size: classification', 'regression', 'latency ratio'],
                                            [[c, x['structure'], f(x.get('budget_ms'), '{:.3g}') + (' (fastest: none within a tenth)' if x.get('fell_back') else ''),
                                              *[('—' if (g := x.get('gain', {}).get(p)) is None else f"{g['mean']:+.2f} [{g['interval'][0]:+.2f}, {g['interval'][1]:+.2f}]") for p in ('classification', 'regression')],
                                              *[('—' if (g := x.get('vs_full', {}).get(p)) is None else f"{g['mean']:+.2f} [{g['interval'][0]:+.2f}, {g['interval'][1]:+.2f}]") for p in ('classification', 'regression')],
                                              f((x.get('latency') or {}).get('ratio'), '{:.3f}')] for c, x in r['chips'].items()]), '']
    out += ['## Test metric per row (mean over seeds)', '', md_table(['row', 'set', 'mean', 'seeds'], [[x['row'], x['set'], f(x['mean'], '{:.3f}'), x['seeds']] for x in r['table']]), '']
    g = lambda x: '—' if x is None else f"{x['mean']:+.2f} [{x['interval'][0]:+.2f}, {x['interval'][1]:+.2f}] over {x['seeds']} seeds"
    out += ['## Curriculum on the shipped encoder (`fit`)', '', md_table(['row', 'gain over plain fine-tuning (ROC-AUC points or RMSE reduction in %, mean over sets)'],
                                                                      [[row, g(x)] for row, x in r['curriculum'].items()]), '']
    if r['replay']:
        out += ['## Replay of a fine-tuned pretrained model (soft graphs, scaffold halves)', '',
                md_table(['set', 'provider', 'row', 'old test', 'new test', 'gap closed [95 % interval]', 'seeds'],
                         [[x['set'], x['provider'], x['row'], f(x['old'], '{:.3f}'), f(x['new'], '{:.3f}'),
                           f"{x['gap_closed']:+.2f} [{x['gap_interval'][0]:+.2f}, {x['gap_interval'][1]:+.2f}]", x['seeds']] for x in r['replay']]), '']
    if r['tau']: out += ['## Ranking structures without fine-tuning', '', f"Kendall's tau against fine-tuned quality over {r['tau']['structures']} structures: label-free score {r['tau']['label_free']:+.2f}, linear probe {r['tau']['probe']:+.2f}.", '']
    out += ['## Targets', '', targets_table(r['targets']), '']
    return '\n'.join(out)


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: a tiny corpus and space, two sets, two seeds, a few epochs')
    ap.add_argument('--fresh', action='store_true', help='quick mode: forget the kept quick runs and start again')
    ap.add_argument('--report', action='store_true', help='write the report from the kept runs, training nothing')
    ap.add_argument('--threads', type=int, default=2, help='torch threads (1 leaves a core for other work)')
    ap.add_argument('--encoder', default=base.DEFAULT_SHIPPED, help='the full-size shipped encoder to compare with (default: %(default)s)')
    main(ap.parse_args())
