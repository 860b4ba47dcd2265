#!/usr/bin/env python
"""Pretraining study at equal compute: which recipe should molnb's shipped encoder be pretrained with?

    python benchmarks/pretrain_study.py                 # full mode (hours on 2 cores: every run is cached, run it again to go on)
    python benchmarks/pretrain_study.py --quick         # a smoke test: a tiny corpus, two sets, one seed, a few epochs
    python benchmarks/pretrain_study.py --report        # write the report from the runs kept so far, training nothing
    python benchmarks/pretrain_study.py --threads 1     # leave a core free for other work
    python benchmarks/pretrain_study.py --finetune      # the fine-tuning recipes of one pretrained encoder

Protocol.
- Corpus: a seeded sample of the MOSES training set (100,000 molecules in full mode), minus every molecule of the
  downstream test splits of the eight sets below (canonical SMILES), as `benchmarks/pretrain.py` does; 98 % pretrain,
  2 % validate.
- Equal compute: every recipe sees the same molecule-steps (the corpus, `pretrain_epochs` times, batches of 256
  molecules; a contrastive batch is 128 anchors and their 128 positives).
- Recipes:
  * `group`: today's best masked recipe (`MaskedTask(GroupMask(0.25))`, reconstruction of the masked atoms' features);
  * `contrastive`: today's contrastive baseline (`ContrastiveTask` on `SimilarPairs`, ECFP4 positives);
  * `descriptors (all atoms)`: molnb's encoder-decoder method with the property loss on computed descriptors
    (`molnb.pretrain.descriptor_dataset`: RDKit's 2-D descriptors, tamed, standardised by the label scaler) beside the
    reconstruction (`MaskedTask(GroupMask(0.25), reconstruct=1, property=1)`), the property read from every atom's
    decoded vector (`readout='all'`, today's code);
  * `descriptors (masked atoms)`: the same, the property read from the masked atoms' decoded vectors only
    (`readout='masked'`, the method as specified).
- Sizes: GIN 128 x 4 (today's) and GIN 300 x 5 (Hu et al.'s and GraphMAE's), mean pooling.
- Transfer: every pretrained encoder, and the same encoder untrained ("no pretraining"), fine-tuned under a fresh
  linear head with `benchmarks/pretrain.py`'s recipe (AdamW lr 1e-3, batch 64, cosine, up to 40 epochs, early stopping
  after 10, the best validation epoch) on bbbp, bace, clintox, sider, tox21 (Hu et al.'s scaffold split, ROC-AUC) and
  esol, freesolv, lipo (random split, RMSE). Seeds are paired: seed s of every row shares the split and the fine-tuning
  seed.
- The choice: the recipe and size with the best mean validation score over the sets, each set's score taken as its
  gain over no pretraining at the same size (ROC-AUC points; RMSE as a relative reduction in %), so that the test
  splits play no part in it. Test scores are reported beside it.
- Fine-tuning recipe (`--finetune`, and in quick mode): one pretrained encoder (`--encoder`, default
  `descriptors (all atoms)` at 128 x 4) fine-tuned with each of `FINETUNE` (the encoder at a share of the learning rate,
  a warm-up, the head trained alone first), on the same sets, splits and seeds; chosen like the recipe, by the mean
  validation gain over no pretraining. The choice is the default that `molnb.fit.fit` gives a pretrained encoder.

Runs are kept in `benchmarks/runs/pretrain-study-<mode settings>.jsonl` (full mode; committed), encoders and the
descriptors of the corpus in `$MOLNB_CACHE`; pretraining checkpoints every epoch, so an interrupted run resumes.
"""
from common import RunLog, command_line, log, machine_info, md_table, seed_bootstrap, target, targets_table, write_results
import pretrain as base
import argparse, datetime, json, os, statistics, sys, time
from pathlib import Path

NAME = 'pretrain_study'
SIZES = {'128x4': dict(encoder='gin', hidden=128, layers=4), '300x5': dict(encoder='gin', hidden=300, layers=5)}
RECIPES = ['group', 'contrastive', 'descriptors (all atoms)', 'descriptors (masked atoms)']
CLASSIFICATION, REGRESSION = ['bbbp', 'bace', 'clintox', 'sider', 'tox21'], ['esol', 'freesolv', 'lipo']
SPLIT = {**{s: 'scaffold' for s in CLASSIFICATION}, **{s: 'random' for s in REGRESSION}}
MODES = {
    'full': dict(corpus=100_000, pretrain_epochs=3, epochs=40, patience=10, seeds=[0, 1, 2], sets=CLASSIFICATION + REGRESSION, sizes=list(SIZES), sample=None),
    'quick': dict(corpus=1_500, pretrain_epochs=1, epochs=2, patience=None, seeds=[0], sets=['bbbp', 'esol'], sizes=['128x4'], sample=300),
}
QUICK_SIZES = {'128x4': dict(encoder='gin', hidden=32, layers=2)}
BASELINE = 'no pretraining'
FINETUNE = {'as in the transfer rows': {}, 'encoder lr x0.1': dict(encoder_lr=0.1), 'encoder lr x0.3, warm-up 2': dict(encoder_lr=0.3, warmup=2),
            'head alone 5 epochs': dict(freeze_epochs=5), 'head alone 5, encoder lr x0.3': dict(freeze_epochs=5, encoder_lr=0.3)}
RATIO, BATCH, PRETRAIN_BATCH, LR = 0.25, 64, 256, 1e-3


def encoder_settings(mode:str, size:str) -> dict: return (QUICK_SIZES if mode == 'quick' else SIZES)[size]


class Study:
    "The runs (committed in full mode) and the encoders and corpus descriptors (in `$MOLNB_CACHE`) of one mode."
    def __init__(self, mode:str):
        from molnb.core import cache_dir
        s = MODES[mode]
        self.mode, self.settings = mode, s
        self.name = f"pretrain-study-{mode}-c{s['corpus']}-p{s['pretrain_epochs']}-e{s['epochs']}"
        self.dir = cache_dir()/'bench'/self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = RunLog(self.name) if mode == 'full' else RunLog('runs', self.dir)
        self._corpus = None
    def encoder(self, recipe:str, size:str) -> Path: return self.dir/'encoders'/f"{recipe.replace(' ', '_').replace('(', '').replace(')', '')}-{size}"

    def corpus(self):
        "The unlabelled corpus (MolDataset train, valid), the downstream test molecules left out, cached for this process."
        if self._corpus is None:
            from molnb.data import load_moses, random_split
            s = self.settings
            gone = base.downstream_tests(s['sets'], s['sample'])
            ds = load_moses(s['corpus'], seed=0, exclude=gone, quiet=True)
            tr, va, _ = random_split(ds, sizes=(0.98, 0.02, 0.0), seed=0).apply(ds)
            info = dict(sampled=s['corpus'], kept=len(ds), left_out_test_molecules=s['corpus'] - len(ds) - len(ds.rejected),
                        rejected=len(ds.rejected), downstream_test_molecules=len(gone), train=len(tr), valid=len(va))
            if 'corpus' not in self.log.runs: self.log.add(dict(info, key='corpus', stage='corpus'))
            self._corpus, self.corpus_all = (tr, va), ds
        return self._corpus


def pretrain_one(study:Study, recipe:str, size:str, threads:int) -> dict:
    "Pretrain one recipe at one size on the corpus (resuming from its checkpoint), save its encoder, keep its record."
    import torch
    from molnb.featurize import featurize
    from molnb.pretrain import (ContrastiveConfig, ContrastiveModel, ContrastiveTask, MaskedEncoderDecoder, MaskedTask,
                                PretrainConfig, SimilarPairs, descriptor_dataset, make_masker)
    from molnb.train import Trainer
    k = f'pretraining/{recipe}/{size}'
    folder = study.encoder(recipe, size)
    if k in study.log.runs and (folder/'model.safetensors').exists(): return study.log.runs[k]
    s, enc = study.settings, encoder_settings(study.mode, size)
    tr, va = study.corpus()
    t0 = time.perf_counter()
    if recipe.startswith('descriptors'):
        # descriptors tamed once over the whole corpus, then cut along the same split as the other recipes
        dd = descriptor_dataset(study.corpus_all, n_workers=0 if threads == 1 else None, quiet=True)
        tr, va = (dd.subset([i for i, m in enumerate(dd.smiles) if m in want]) for want in (set(tr.smiles), set(va.smiles)))
    seconds_descriptors = time.perf_counter() - t0
    gtr, gva = featurize(tr, quiet=True), featurize(va, quiet=True)
    torch.manual_seed(0)
    if recipe == 'contrastive':
        model, source, task = ContrastiveModel(ContrastiveConfig(model=enc)), SimilarPairs(gtr, PRETRAIN_BATCH // 2, seed=0), ContrastiveTask()
    elif recipe == 'group':
        model, source, task = MaskedEncoderDecoder(PretrainConfig(model=enc)), gtr, MaskedTask(make_masker('group', RATIO), seed=0)
    else:
        cfg = PretrainConfig(model=dict(enc, n_tasks=len(tr.targets), targets=list(tr.targets), task='regression'),
                             readout='masked' if 'masked' in recipe else 'all')
        model, source, task = MaskedEncoderDecoder(cfg), gtr, MaskedTask(make_masker('group', RATIO), reconstruct=1, property=1, seed=0)
    log(f"pretraining {recipe} ({size}) on {len(gtr):,} molecules, {s['pretrain_epochs']} epochs")
    res = Trainer(model, source, gva, task=task, epochs=s['pretrain_epochs'], batch_size=PRETRAIN_BATCH, lr=LR, seed=0,
                  checkpoint_dir=folder/'checkpoint', quiet=not sys.stderr.isatty()).fit()
    model.property_model().save(folder)
    rec = dict(key=k, stage='pretraining', recipe=recipe, size=size, encoder=enc, molecules=len(gtr), epochs=len(res.history),
               molecule_steps=len(gtr) * len(res.history), seconds=round(float(res.history['seconds'].sum()), 1),
               descriptor_seconds=round(seconds_descriptors, 1), resumed_from=res.resumed_from, threads=threads,
               targets=len(tr.targets) if recipe.startswith('descriptors') else None,
               valid={k2: round(v, 4) for k2, v in res.valid.items() if '[' not in k2},
               history=res.history.drop(columns=[c for c in res.history.columns if '[' in c]).round(4).to_dict('list'),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
    return study.log.add(rec)


def finetune(study:Study, row:str, size:str, name:str, seed:int, parts, encoder_lr:float=1.0, freeze_epochs:int=0, warmup:int=0) -> dict:
    "Fine-tune one (pretrained or fresh) encoder on one set and seed (with a fine-tuning recipe): test and validation metric."
    import torch
    from molnb.models import ModelConfig, PropertyModel, finetune_model
    from molnb.train import Trainer, PropertyTask
    s, (tr, va, te) = study.settings, parts
    torch.manual_seed(seed)
    enc = PropertyModel(ModelConfig(**encoder_settings(study.mode, size))) if row == BASELINE else PropertyModel.load(study.encoder(row, size))
    model = finetune_model(enc, n_tasks=len(tr.targets), task=tr.task)
    res = Trainer(model, tr, va, te, epochs=s['epochs'], patience=s['patience'], batch_size=BATCH, lr=LR, seed=seed, quiet=True, warmup=warmup,
                  task=PropertyTask(encoder_lr=encoder_lr, freeze_epochs=freeze_epochs)).fit()
    m = tr.metric
    return dict(metric=m, test=res.test[m], valid=res.valid[m], epochs_run=len(res.history), seconds=round(res.seconds, 1))


# ---------------------------------------------------------------- summaries
def gain(row_val:float, base_val:float, metric:str) -> float:
    "Gain over no pretraining: ROC-AUC points, or the RMSE's relative reduction in % (better is positive for both)."
    return 100 * (row_val - base_val) if metric == 'roc_auc' else 100 * (base_val - row_val) / base_val


def summarise(runs:dict, s:dict) -> dict:
    "Per size and recipe: mean gains over no pretraining on validation (the choice) and test, with seed-bootstrap intervals."
    out = {}
    ft = [r for r in runs.values() if r.get('stage') == 'transfer']
    for size in s['sizes']:
        for recipe in RECIPES:
            per = {'valid': [], 'test': []}
            sets_done, by_set = 0, {}
            for name in s['sets']:
                pairs = [(r, next((b for b in ft if (b['row'], b['size'], b['set'], b['seed']) == (BASELINE, size, name, r['seed'])), None))
                         for r in ft if (r['row'], r['size'], r['set']) == (recipe, size, name)]
                pairs = [(r, b) for r, b in pairs if b is not None]
                if len(pairs) < len(s['seeds']): continue
                sets_done += 1
                for part in per: per[part].append([gain(r[part], b[part], r['metric']) for r, b in sorted(pairs, key=lambda p: p[0]['seed'])])
                by_set[name] = statistics.mean(gain(r['test'], b['test'], r['metric']) for r, b in pairs)
            if not sets_done: continue
            row = dict(size=size, recipe=recipe, sets=sets_done, complete=sets_done == len(s['sets']), test_by_set=by_set)
            for part, lists in per.items():
                seeds = list(zip(*lists))  # per seed, the mean gain over the sets
                row[part] = statistics.mean(statistics.mean(x) for x in seeds)
                row[f'{part}_interval'] = seed_bootstrap([statistics.mean(x) for x in seeds])
            out[f'{recipe}|{size}'] = row
    return out


def finetune_summary(runs:dict, s:dict, encoder:str, size:str) -> list:
    "Per fine-tuning recipe of `encoder`: mean validation and test gains over no pretraining, with seed-bootstrap intervals (complete recipes only)."
    base = {(r['set'], r['seed']): r for r in runs.values() if r.get('stage') == 'transfer' and (r['row'], r['size']) == (BASELINE, size)}
    out = []
    for ft in FINETUNE:
        rows = {(r['set'], r['seed']): r for r in runs.values() if r.get('stage') == 'finetune' and (r['recipe'], r['encoder'], r['size']) == (ft, encoder, size)}
        pairs = {k: (r, base[k]) for k, r in rows.items() if k in base}
        if len(pairs) < len(s['sets']) * len(s['seeds']): continue
        row = dict(recipe=ft, settings=FINETUNE[ft])
        for part in ('valid', 'test'):
            seeds = [statistics.mean(gain(pairs[(n, sd)][0][part], pairs[(n, sd)][1][part], pairs[(n, sd)][0]['metric']) for n in s['sets']) for sd in s['seeds']]
            row[part], row[f'{part}_interval'] = statistics.mean(seeds), seed_bootstrap(seeds)
        out.append(row)
    return out


def with_interval(m:float, ci:list) -> str:
    return f"{m:+.2f}" + (f" ({ci[0]:+.2f} to {ci[1]:+.2f})" if ci[0] == ci[0] else '')


def markdown(report:dict) -> str:
    s, sm = report['settings'], report['summary']
    out = [f"# Pretraining study at equal compute ({report['mode']})", '', f"Command: `{report['command']}`  ", f"Date: {report['date']}  ",
           f"Machine: {report['machine']['cpu']}, {report['machine']['usable_cores']} usable cores, {report['machine']['ram_gb']} GB, GPU: {report['machine']['gpu']}  ",
           'Versions: ' + ', '.join(f'{k} {v}' for k, v in report['machine']['versions'].items()), '',
           'Protocol: see the docstring of `benchmarks/pretrain_study.py`. ' + report['status'], '']
    if report['pretraining']:
        out += ['## Pretraining runs (equal molecule-steps)', '', md_table(['recipe', 'size', 'molecules', 'epochs', 'molecule-steps', 'training s', 'threads', 'validation'],
                [[r['recipe'], r['size'], f"{r['molecules']:,}", r['epochs'], f"{r['molecule_steps']:,}", r['seconds'], r.get('threads', ''),
                  ', '.join(f'{k} {v}' for k, v in r['valid'].items())] for r in report['pretraining']]), '',
                'Seconds are a record, not a speed measurement: these runs shared the two cores with other work.', '']
    out += ['## Gain over no pretraining at the same size (mean over sets; ROC-AUC points, RMSE reduction in %)', '',
            'Validation decides; test is reported. Intervals: seed bootstrap, 95 %.', '',
            md_table(['size', 'recipe', 'sets in', 'validation gain', 'test gain', *s['sets']],
                     [[r['size'], r['recipe'], f"{r['sets']} of {len(s['sets'])}", with_interval(r['valid'], r['valid_interval']), with_interval(r['test'], r['test_interval']),
                       *(f"{r['test_by_set'][n]:+.2f}" if n in r['test_by_set'] else '—' for n in s['sets'])] for r in sm.values()]), '']
    ch = report.get('choice')
    out += ['## The choice', '', (f"**{ch['recipe']} at {ch['size']}**: the best validation gain of the complete rows ({ch['valid']:+.2f})." if ch else
                                  'No row is complete yet: no choice.'), '']
    if report.get('finetune'):
        f = report['finetune']
        out += [f"## Fine-tuning recipe ({f['encoder']} at {f['size']})", '', 'Gain over no pretraining, mean over sets; validation decides.', '',
                md_table(['recipe', 'settings', 'validation gain', 'test gain'], [[r['recipe'], r['settings'] or 'lr 1e-3 for all, no warm-up', with_interval(r['valid'], r['valid_interval']),
                          with_interval(r['test'], r['test_interval'])] for r in f['rows']]), '',
                f"**Chosen: {f['choice']}** (the best validation gain)." if f['choice'] else 'No recipe is complete yet.', '']
    out += ['## Targets', '', targets_table(report['targets']), '']
    return '\n'.join(out)


# ---------------------------------------------------------------- main
def main(args):
    import torch
    mode = 'quick' if args.quick else 'full'
    study = Study(mode); s = study.settings
    os.environ.setdefault('MOLNB_DATA', str(base.DEFAULT_DATA))
    torch.set_num_threads(args.threads)
    runs = study.log.runs
    from molnb.featurize import featurize
    parts = {}
    def featurized(name):
        if name not in parts: parts[name] = tuple(featurize(d, quiet=True) for d in base.splits(name, SPLIT[name], s['sample']))
        return parts[name]
    if not args.report and not args.finetune:
        for size in s['sizes']:
            for recipe in RECIPES:  # an encoder whose transfer runs are all kept is not needed again (its cache may be gone on a new machine)
                if any(f'transfer/{recipe}/{size}/{name}/{seed}' not in runs for name in s['sets'] for seed in s['seeds']): pretrain_one(study, recipe, size, args.threads)
            for seed in s['seeds']:
                for row in [BASELINE] + RECIPES:
                    for name in s['sets']:
                        k = f'transfer/{row}/{size}/{name}/{seed}'
                        if k in runs: continue
                        t0 = time.perf_counter()
                        r = finetune(study, row, size, name, seed, featurized(name))
                        study.log.add(dict(r, key=k, stage='transfer', row=row, size=size, set=name, seed=seed,
                                           date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')))
                        log(f"{k}: test {r['test']:.4f} ({time.perf_counter() - t0:.0f} s)")
    if not args.report and (args.finetune or args.quick):
        size = s['sizes'][0]
        pretrain_one(study, args.encoder, size, args.threads)
        for seed in s['seeds']:
            for ft, recipe in FINETUNE.items():
                for name in s['sets']:
                    k = f'finetune/{ft}/{args.encoder}/{size}/{name}/{seed}'
                    if k in runs: continue
                    t0, same = time.perf_counter(), runs.get(f'transfer/{args.encoder}/{size}/{name}/{seed}')
                    r = ({f: same[f] for f in ('metric', 'test', 'valid', 'epochs_run', 'seconds')} if same and not recipe  # the transfer row is this recipe's run
                         else finetune(study, args.encoder, size, name, seed, featurized(name), **recipe))
                    study.log.add(dict(r, key=k, stage='finetune', recipe=ft, encoder=args.encoder, size=size, set=name, seed=seed,
                                       date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')))
                    log(f"{k}: test {r['test']:.4f} ({time.perf_counter() - t0:.0f} s)")
    runs = study.log.runs
    summary = summarise(runs, s)
    ft_rows = finetune_summary(runs, s, args.encoder, s['sizes'][0])
    finetune_report = dict(encoder=args.encoder, size=s['sizes'][0], rows=ft_rows, choice=max(ft_rows, key=lambda r: r['valid'])['recipe'] if ft_rows else None) if ft_rows or args.finetune else None
    complete = [r for r in summary.values() if r['complete']]
    best = max(complete, key=lambda r: r['valid']) if complete else None
    expected = len(s['sizes']) * (len(RECIPES) + 1) * len(s['sets']) * len(s['seeds'])
    have = sum(r.get('stage') == 'transfer' for r in runs.values())
    status = f"All {expected} transfer runs are in." if have >= expected else f"**Incomplete: {have} of {expected} transfer runs in** (kept; run the command again to go on)."
    ts = [target('the chosen recipe: validation gain over no pretraining (mean over sets)', best['valid'] if best else None, '>=', 0.0),
          target('the chosen recipe: lower end of its test-gain interval', best['test_interval'][0] if best else None, '>=', 0.0)]
    pre = sorted((r for r in runs.values() if r.get('stage') == 'pretraining'), key=lambda r: (r['size'], RECIPES.index(r['recipe'])))
    report = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
                  machine=machine_info(), settings=dict(s, sizes=s['sizes'], encoders={k: encoder_settings(mode, k) for k in s['sizes']}, ratio=RATIO,
                  batch=BATCH, pretrain_batch=PRETRAIN_BATCH, lr=LR), status=status, corpus=runs.get('corpus'),
                  pretraining=[{k: v for k, v in r.items() if k != 'history'} for r in pre], summary=summary,
                  choice=None if best is None else {k: best[k] for k in ('recipe', 'size', 'valid', 'test', 'test_interval')},
                  rows=sorted((r for r in runs.values() if r.get('stage') == 'transfer'), key=lambda r: r['key']), targets=ts, finetune=finetune_report,
                  finetune_rows=sorted((r for r in runs.values() if r.get('stage') == 'finetune'), key=lambda r: r['key']))
    md, js = write_results(NAME, report, markdown(report), args.quick)
    log(f"wrote {md} and {js}: {status}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: tiny corpus, two sets, one seed, a few epochs')
    ap.add_argument('--report', action='store_true', help='write the report from the kept runs, training nothing')
    ap.add_argument('--threads', type=int, default=2, help='torch threads (1 leaves a core for other work)')
    ap.add_argument('--finetune', action='store_true', help='run only the fine-tuning recipes (FINETUNE) on --encoder at the first size (quick mode runs both stages)')
    ap.add_argument('--encoder', default='descriptors (all atoms)', choices=RECIPES, help='the pretrained encoder whose fine-tuning recipes are compared')
    main(ap.parse_args())
