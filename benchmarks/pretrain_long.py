#!/usr/bin/env python
"""The long pretraining run behind molnb's shipped encoder: the study's recipe on the whole MOSES training set, with the
curve of transfer against pretraining epochs.

    python benchmarks/pretrain_long.py                 # full mode: hours; resumable (run it again to go on)
    python benchmarks/pretrain_long.py --quick --fresh # a smoke test: 3,000 molecules, 2 epochs, two sets, one seed (from scratch)
    python benchmarks/pretrain_long.py --report        # the report from what is kept, training nothing
    python benchmarks/pretrain_long.py --threads 1     # leave a core free for other work
    python benchmarks/pretrain_long.py --epochs-now 1  # stop after one more pretraining epoch (and its transfer runs)

Protocol (full mode).
- Corpus: the whole MOSES training set (1,584,663 molecules) minus every molecule of the downstream test splits of the
  eight transfer sets (canonical SMILES; the molecules `benchmarks/pretrain_study.py` leaves out), written once to
  on-disk shards of 50,000 molecules (`molnb.featurize.write_shards`, 1 % kept apart to validate) in `$MOLNB_CACHE`.
- Recipe: contrastive pretraining at GIN 128 x 4, the pretraining study's choice (the best mean validation gain over no
  pretraining of its complete rows, `benchmarks/results/pretrain_study.md`; it was also the best row of
  `benchmarks/results/pretrain.md` at 250,000 molecules x 5 epochs, +1.5 ROC-AUC points, interval above zero).
  `molnb.pretrain.ShardPairs` streams the shards (each anchor's positive is its most similar molecule among 4,096 of
  its own shard), 128 anchors a batch, AdamW lr 1e-3 with a cosine schedule over `EPOCHS` epochs, seed 0.
- Checkpoints: the engine's `last.pt` every `CHECKPOINT_STEPS` batches and at each epoch's end, in
  `benchmarks/runs/pretrain-long/` (about 2.5 MB; commit it when a sitting ends, so that a new machine resumes it);
  the encoder of each epoch in `$MOLNB_CACHE` (rebuilt from the checkpoint for the last one).
- Transfer curve: after each epoch, its encoder is fine-tuned exactly as the study's transfer rows
  (`pretrain_study.finetune`: a fresh linear head, AdamW lr 1e-3, batch 64, up to 40 epochs, early stopping after 10,
  the best validation epoch) on bbbp, bace, clintox, sider, tox21 (Hu et al.'s scaffold split, ROC-AUC) and esol,
  freesolv, lipo (random split, RMSE), seeds 0-2, paired with the study's no-pretraining rows (the same encoder size,
  splits and seeds; read from its kept runs). Gain: ROC-AUC points, or the RMSE's relative reduction in %; validation
  and test, with seed-bootstrap 95 % intervals. The intermediate epochs are read off one cosine schedule, so they show
  whether more epochs still pay, not what a shorter run would give.

Runs are kept in `benchmarks/runs/pretrain-long-full.jsonl` (committed); quick mode keeps its own under `$MOLNB_CACHE`.
"""
from common import RunLog, command_line, log, machine_info, md_table, seed_bootstrap, target, targets_table, write_results
import pretrain as base
import pretrain_study as S
import argparse, datetime, os, statistics, sys, time
from pathlib import Path

NAME = 'pretrain_long'
REPO = Path(__file__).resolve().parents[1]
RECIPE, SIZE = 'contrastive', '128x4'
EPOCHS, ANCHORS, POOL, LR, CHECKPOINT_STEPS = 10, 128, 4096, 1e-3, 500
MODES = {'full': dict(corpus=None, shard_size=50_000, epochs=EPOCHS, study='full', checkpoint=REPO/'benchmarks'/'runs'/'pretrain-long'),
         'quick': dict(corpus=3_000, shard_size=1_000, epochs=2, study='quick', checkpoint=None)}


class Long:
    "The run's settings, kept runs and folders; quacks like `pretrain_study.Study` for its `finetune`."
    def __init__(self, mode:str):
        from molnb.core import cache_dir
        self.mode, self.own = mode, MODES[mode]
        self.settings = S.MODES[self.own['study']]  # the transfer protocol: sets, seeds, fine-tuning epochs, patience, sample
        self.dir = cache_dir()/'bench'/f"pretrain-long-{mode}-c{self.own['corpus'] or 'all'}"
        self.checkpoint = self.own['checkpoint'] or self.dir/'checkpoint'
        self.log = RunLog('pretrain-long-full') if mode == 'full' else RunLog('runs', self.dir)
        self.study_log = RunLog(S.Study(mode).name) if mode == 'full' else None  # the study's no-pretraining rows
    def encoder(self, row:str, size:str) -> Path: return self.dir/'encoders'/row.replace(' ', '-')
    def settings_of_encoder(self) -> dict: return S.encoder_settings(self.mode, SIZE)


def shards(run:Long):
    "The corpus as on-disk shards (written once; the downstream test molecules left out)."
    from molnb.featurize import Shards, write_shards
    folder = run.dir/'shards'
    if (folder/'shards.json').exists(): return Shards.open(folder)
    gone = base.downstream_tests(run.settings['sets'], run.settings['sample'])
    log(f"writing the corpus's shards to {folder} ({len(gone):,} downstream test molecules left out)")
    t = time.perf_counter()
    sh = write_shards('moses', folder, n=run.own['corpus'], shard_size=run.own['shard_size'], valid=0.01, exclude=gone, seed=0, quiet=not sys.stderr.isatty())
    run.log.add(dict(key='corpus', stage='corpus', molecules=len(sh), valid=sh.valid, shards=len(sh.sizes), rejected=sh.meta['rejected'],
                     excluded=sh.meta['excluded'], downstream_test_molecules=len(gone), seconds=round(time.perf_counter() - t, 1)))
    return sh


def keep_epoch(run:Long, row:dict, threads:int, molecules:int):
    "Keep the record of a finished pretraining epoch (the engine's history row)."
    e = int(row['epoch'])
    if f'pretraining/{e}' in run.log.runs: return
    run.log.add(dict(key=f'pretraining/{e}', stage='pretraining', epoch=e, molecules=molecules, threads=threads, seconds=round(float(row['seconds']), 1),
                     loss=round(float(row['loss']), 4), valid={k[6:]: round(float(v), 4) for k, v in row.items() if k.startswith('valid_')},
                     date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')))


class EpochEnd:
    "Callback: save the checkpoint every `steps` batches; at an epoch's end keep its encoder and its record, and stop the run (its transfer runs come next)."
    def __init__(self, run:Long, steps:int, threads:int, molecules:int):
        self.run, self.steps, self.threads, self.molecules = run, steps, threads, molecules
    def on_batch_end(self, trainer, info):
        if trainer.step % self.steps == 0: trainer.save_checkpoint()
    def on_epoch_end(self, trainer, row):
        trainer.model.property_model().save(self.run.encoder(f"epoch {trainer.epoch}", SIZE))
        keep_epoch(self.run, row, self.threads, self.molecules)
        trainer.control.stop()


def recover(run:Long):
    "From the checkpoint: the records of finished epochs that were not kept (a run killed between its epoch-end checkpoint and their keeping), and the latest epoch's encoder when it is gone (a new machine) and the checkpoint sits at that epoch's end."
    from molnb.pretrain import ContrastiveConfig, ContrastiveModel
    from molnb.train import read_checkpoint
    path = run.checkpoint/'last.pt'
    if not path.exists(): return
    st = read_checkpoint(path)
    for row in st['history']: keep_epoch(run, row, None, run.log.runs['corpus']['molecules'])  # threads unknown: not recorded
    folder = run.encoder(f"epoch {st['epoch']}", SIZE)
    if st['epoch'] and st['position'] == 0 and not (folder/'model.safetensors').exists():
        model = ContrastiveModel(ContrastiveConfig(model=run.settings_of_encoder()))
        model.load_state_dict(st['model']); model.property_model().save(folder)
        log(f"the encoder of epoch {st['epoch']} rebuilt from {path}")


def pretrain_epoch(run:Long, threads:int):
    "Pretrain one more epoch, resuming from the checkpoint (mid-epoch too); its encoder and record are kept."
    from molnb.pretrain import ContrastiveConfig, ContrastiveModel, ContrastiveTask, ShardPairs
    from molnb.train import Trainer
    import torch
    sh = shards(run)
    torch.manual_seed(0)
    model = ContrastiveModel(ContrastiveConfig(model=run.settings_of_encoder()))
    trainer = Trainer(model, ShardPairs(sh, ANCHORS, POOL, seed=0), sh.validation(), task=ContrastiveTask(), epochs=run.own['epochs'], batch_size=ANCHORS,
                      lr=LR, seed=0, checkpoint_dir=run.checkpoint, callbacks=[EpochEnd(run, CHECKPOINT_STEPS, threads, len(sh))], quiet=not sys.stderr.isatty())
    log(f"pretraining {RECIPE} ({SIZE}) on {len(sh):,} molecules in {len(sh.sizes)} shards, one more epoch of {run.own['epochs']}; checkpoint in {run.checkpoint}")
    return trainer.fit()


def kept_baseline(run:Long, name:str, seed:int) -> dict|None:
    "No pretraining at the same size, set and seed, if kept: the study's run (full mode), or this run's own (quick mode)."
    k = f'transfer/{S.BASELINE}/{SIZE}/{name}/{seed}'
    return (run.study_log.runs.get(k) if run.study_log is not None else None) or run.log.runs.get(k)


def baseline(run:Long, name:str, seed:int, parts) -> dict:
    "No pretraining at the same size, set and seed: the kept run, or run now."
    if kept_baseline(run, name, seed) is None:
        run.log.add(dict(S.finetune(run, S.BASELINE, SIZE, name, seed, parts), key=f'transfer/{S.BASELINE}/{SIZE}/{name}/{seed}', stage='transfer', row=S.BASELINE, size=SIZE, set=name, seed=seed))
    return kept_baseline(run, name, seed)


def transfer(run:Long, featurized):
    "Fine-tune every kept epoch's encoder on every set and seed not yet done, beside its no-pretraining pair."
    done = sorted(r['epoch'] for r in run.log.runs.values() if r.get('stage') == 'pretraining')
    for e in done:
        folder = run.encoder(f'epoch {e}', SIZE)
        todo = [(seed, name) for seed in run.settings['seeds'] for name in run.settings['sets'] if f'transfer/epoch {e}/{SIZE}/{name}/{seed}' not in run.log.runs]
        if todo and not (folder/'model.safetensors').exists():
            log(f"epoch {e}: its encoder is gone from {folder} (a new machine, and the checkpoint has moved past it): its {len(todo)} missing transfer runs are skipped"); continue
        for seed, name in todo:
            k = f'transfer/epoch {e}/{SIZE}/{name}/{seed}'
            baseline(run, name, seed, featurized(name))
            t = time.perf_counter()
            r = S.finetune(run, f'epoch {e}', SIZE, name, seed, featurized(name))
            run.log.add(dict(r, key=k, stage='transfer', row=f'epoch {e}', epoch=e, size=SIZE, set=name, seed=seed,
                             date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')))
            log(f"{k}: test {r['test']:.4f} ({time.perf_counter() - t:.0f} s)")


def curve(run:Long) -> list:
    "Per epoch with every set and seed in: mean gains over no pretraining (validation and test) with seed-bootstrap intervals, and per set."
    s, out = run.settings, []
    rows = [r for r in run.log.runs.values() if r.get('stage') == 'transfer' and r['row'] != S.BASELINE]
    for e in sorted({r['epoch'] for r in rows}):
        per = {'valid': [], 'test': []}; by_set = {}
        mine = {(r['set'], r['seed']): r for r in rows if r['epoch'] == e}
        pairs = {k: (r, kept_baseline(run, *k)) for k, r in mine.items()}
        if len(pairs) < len(s['sets']) * len(s['seeds']) or any(b is None for _, b in pairs.values()): continue
        for part in per:
            per[part] = [statistics.mean(S.gain(pairs[(n, sd)][0][part], pairs[(n, sd)][1][part], pairs[(n, sd)][0]['metric']) for n in s['sets']) for sd in s['seeds']]
        for n in s['sets']: by_set[n] = statistics.mean(S.gain(pairs[(n, sd)][0]['test'], pairs[(n, sd)][1]['test'], pairs[(n, sd)][0]['metric']) for sd in s['seeds'])
        cls = [n for n in s['sets'] if n in S.CLASSIFICATION]
        cls_test = [statistics.mean(S.gain(pairs[(n, sd)][0]['test'], pairs[(n, sd)][1]['test'], 'roc_auc') for n in cls) for sd in s['seeds']] if cls else []
        out.append(dict(epoch=e, valid=statistics.mean(per['valid']), valid_interval=seed_bootstrap(per['valid']), test=statistics.mean(per['test']),
                        test_interval=seed_bootstrap(per['test']), test_by_set=by_set, classification_test=statistics.mean(cls_test) if cls_test else None,
                        classification_interval=seed_bootstrap(cls_test) if cls_test else None))
    return out


def markdown(rep:dict) -> str:
    s = rep['settings']
    out = [f"# The long pretraining run ({rep['mode']})", '', f"Command: `{rep['command']}`  ", f"Date: {rep['date']}  ",
           f"Machine: {rep['machine']['cpu']}, {rep['machine']['usable_cores']} usable cores, {rep['machine']['ram_gb']} GB, GPU: {rep['machine']['gpu']}  ",
           'Versions: ' + ', '.join(f'{k} {v}' for k, v in rep['machine']['versions'].items()), '',
           f"Protocol: see the docstring of `benchmarks/pretrain_long.py`. Recipe: {RECIPE} at GIN {SIZE}, {rep['epochs']} epochs planned. {rep['status']}", '']
    c = rep.get('corpus')
    if c: out += [f"Corpus: {c['molecules']:,} molecules in {c['shards']} shards, {c['valid']:,} to validate; {c['excluded']:,} downstream test molecules left out, {c['rejected']:,} rows rejected; sharded in {c['seconds']:,.0f} s.", '']
    if rep['pretraining']:
        out += ['## Pretraining epochs', '', md_table(['epoch', 'training s', 'threads', 'loss', 'validation'],
                [[r['epoch'], r['seconds'], r['threads'], r['loss'], ', '.join(f'{k} {v}' for k, v in r['valid'].items())] for r in rep['pretraining']]), '',
                'Seconds are a record, not a speed measurement: the run shared the two cores with other work.', '']
    out += ['## Transfer against pretraining epochs (gain over no pretraining, mean over sets; ROC-AUC points, RMSE reduction in %)', '',
            'Intervals: seed bootstrap, 95 %. For reference, the study\'s contrastive row (100,000 molecules x 3 epochs, the same protocol): '
            'validation +0.72 (-0.12 to +1.25), test +1.26 (-0.15 to +3.41).', '']
    out += [md_table(['epoch', 'validation gain', 'test gain', 'test, classification sets (points)', *s['sets']],
                     [[r['epoch'], S.with_interval(r['valid'], r['valid_interval']), S.with_interval(r['test'], r['test_interval']),
                       S.with_interval(r['classification_test'], r['classification_interval']) if r['classification_test'] is not None else '—',
                       *(f"{r['test_by_set'][n]:+.2f}" for n in s['sets'])] for r in rep['curve']]) if rep['curve'] else 'No epoch has all its transfer runs yet.', '']
    out += ['## Targets', '', targets_table(rep['targets']), '']
    return '\n'.join(out)


def main(args):
    import torch
    mode = 'quick' if args.quick else 'full'
    if args.fresh and mode == 'quick':
        import shutil
        shutil.rmtree(Long(mode).dir, ignore_errors=True)
    run = Long(mode)
    os.environ.setdefault('MOLNB_DATA', str(base.DEFAULT_DATA))
    torch.set_num_threads(args.threads)
    from molnb.featurize import featurize
    parts = {}
    def featurized(name):
        if name not in parts: parts[name] = tuple(featurize(d, quiet=True) for d in base.splits(name, S.SPLIT[name], run.settings['sample']))
        return parts[name]
    more = 0
    if not args.report: recover(run)
    while not args.report:  # each epoch, then its transfer runs (those of an epoch kept before an interruption first)
        transfer(run, featurized)
        done = max((r['epoch'] for r in run.log.runs.values() if r.get('stage') == 'pretraining'), default=0)
        if done >= run.own['epochs'] or (args.epochs_now is not None and more >= args.epochs_now): break
        pretrain_epoch(run, args.threads); more += 1
    cv = curve(run)
    pre = sorted((r for r in run.log.runs.values() if r.get('stage') == 'pretraining'), key=lambda r: r['epoch'])
    status = (f"All {run.own['epochs']} epochs are in." if len(pre) >= run.own['epochs'] else
              f"**Incomplete: {len(pre)} of {run.own['epochs']} epochs pretrained, {len(cv)} with their transfer runs** (kept; run the command again to go on).")
    last = cv[-1] if cv else None
    cg = last['classification_test'] if last else None
    ts = [target('the latest epoch: mean test ROC-AUC gain over no pretraining on the classification sets, points', cg, '>=', 3.0),
          target('the latest epoch: lower end of that gain\'s interval, points', last['classification_interval'][0] if cg is not None else None, '>', 0.0)]
    rep = dict(command=command_line(NAME), mode=mode, date=datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), machine=machine_info(),
               settings=dict(run.settings, encoder=run.settings_of_encoder(), anchors=ANCHORS, pool=POOL, lr=LR, shard_size=run.own['shard_size']), epochs=run.own['epochs'],
               status=status, corpus=run.log.runs.get('corpus'), pretraining=pre, curve=cv, targets=ts,
               rows=sorted((r for r in run.log.runs.values() if r.get('stage') == 'transfer'), key=lambda r: r['key']))
    md, js = write_results(NAME, rep, markdown(rep), args.quick)
    log(f"wrote {md} and {js}: {status}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='a smoke test: 3,000 molecules, 2 epochs, two sets, one seed')
    ap.add_argument('--fresh', action='store_true', help='quick mode: forget the kept quick run and start again')
    ap.add_argument('--report', action='store_true', help='write the report from the kept runs, training nothing')
    ap.add_argument('--threads', type=int, default=2, help='torch threads (1 leaves a core for other work)')
    ap.add_argument('--epochs-now', type=int, default=None, help='pretrain at most this many more epochs in this call (each followed by its transfer runs)')
    main(ap.parse_args())
