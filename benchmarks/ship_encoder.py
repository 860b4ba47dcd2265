#!/usr/bin/env python
"""Ship an encoder of the pretraining study, or of the long run, inside the package: `molnb/weights/NAME/` with its model card.

    python benchmarks/ship_encoder.py --recipe 'descriptors (all atoms)' --size 128x4 --name moses100k-descriptors-gin128x4
    python benchmarks/ship_encoder.py --long --name moses-contrastive-gin128x4      # the long run's latest epoch
    python benchmarks/ship_encoder.py --long 6 --name moses-contrastive-gin128x4    # its epoch 6

Copies the encoder (`config.json`, `model.safetensors`, from `$MOLNB_CACHE`; `benchmarks/pretrain_study.py` or
`benchmarks/pretrain_long.py` rebuilds it when it is not there) and writes `card.json` (read by
`molnb.models.load_shipped`, which checks the files' SHA-256 digests against it, and by `molnb pretrained`) and
`card.md` (`molnb.models.card_markdown` of it). The card's transfer table is the study's protocol: every seed kept so
far of this encoder and of no pretraining (the study's rows), fine-tuned alike on the same splits.
"""
import argparse, json, shutil, statistics, sys
from pathlib import Path
from common import machine_info, seed_bootstrap
import pretrain_study as S

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = {'group': 'masked-atom reconstruction (group masking, 25 % of atoms)',
           'contrastive': 'contrastive learning (InfoNCE, ECFP4-similar molecules as positives)',
           'descriptors (all atoms)': 'masked-atom reconstruction (group masking, 25 % of atoms) plus {n} RDKit 2-D descriptors read from every atom\'s decoded vector',
           'descriptors (masked atoms)': 'masked-atom reconstruction (group masking, 25 % of atoms) plus {n} RDKit 2-D descriptors read from the masked atoms\' decoded vectors'}
LIMITS = ("Pretrained on MOSES molecules only: neutral, drug-like ZINC 'clean leads' (molecular weight 250-350, at most 7 rotatable bonds, "
          "XlogP at most 3.5, atoms C, N, O, S, F, Cl, Br and H, no ring larger than 8), so molecules far from these (metals, charged species, "
          "peptides, large natural products) are outside what it has seen. 2-D graphs only (not for `--conformers`). The gains in the transfer "
          "table are small and vary between sets and seeds: compare with a model trained without it on your own validation set before relying on it. "
          "Its head predicts the corpus's standardised descriptors; use it as an encoder, not as a descriptor calculator.")


def transfer(runs:dict, recipe:str, size:str) -> dict:
    "Per set: no pretraining and this encoder (`recipe`: its runs' row) on the test split (mean over the seeds both have), the gain, and its seed interval over the sets."
    ft = [r for r in runs.values() if r.get('stage') == 'transfer' and r['size'] == size]
    rows, per_seed, per_seed_valid = [], {}, {}
    for name in S.CLASSIFICATION + S.REGRESSION:
        pairs = [(r, b) for r in ft if (r['row'], r['set']) == (recipe, name)
                 for b in ft if (b['row'], b['set'], b['seed']) == (S.BASELINE, name, r['seed'])]
        if not pairs: continue
        metric = pairs[0][0]['metric']
        for r, b in pairs:
            per_seed.setdefault(r['seed'], {})[name] = S.gain(r['test'], b['test'], metric)
            per_seed_valid.setdefault(r['seed'], {})[name] = S.gain(r['valid'], b['valid'], metric)
        mean = lambda xs: statistics.mean(xs)
        rows.append({'set': name, 'split': S.SPLIT[name], 'metric': 'ROC-AUC' if metric == 'roc_auc' else 'RMSE', 'seeds': len(pairs),
                     'no pretraining': f"{mean([b['test'] for _, b in pairs]):.3f}", 'this encoder': f"{mean([r['test'] for r, _ in pairs]):.3f}",
                     'gain': f"{mean([S.gain(r['test'], b['test'], metric) for r, b in pairs]):+.2f}"})
    summary = []
    for part, gains in (('test', per_seed), ('validation', per_seed_valid)):
        for kind, sets in (('classification (ROC-AUC points)', S.CLASSIFICATION), ('regression (RMSE reduction, %)', S.REGRESSION)):
            seeds = [statistics.mean(g[n] for n in sets) for g in gains.values() if all(n in g for n in sets)]
            if seeds:
                lo, hi = seed_bootstrap(seeds)
                summary.append(f"{part}, {kind}: mean gain {statistics.mean(seeds):+.2f} over {len(seeds)} seed(s)" + (f", 95 % seed-bootstrap interval {lo:+.2f} to {hi:+.2f}" if lo == lo else ''))
    how = ("Fine-tuned under a fresh head on each set (`benchmarks/pretrain_study.py`: AdamW lr 1e-3, batch 64, up to 40 epochs, early stopping "
           "after 10, weights of the best validation epoch), against the same encoder untrained, on the same splits and seeds: Hu et al.'s scaffold "
           "split for the classification sets, random for the regression sets. Test-split means over the seeds; gain in ROC-AUC points, or the RMSE's "
           "relative reduction in %: positive is better for both.")
    return dict(how=how, columns=['set', 'split', 'metric', 'seeds', 'no pretraining', 'this encoder', 'gain'], rows=rows, reading=' '.join(s + '.' for s in summary))


def long_source(epoch:int|None):
    "(encoder folder, pretraining record, runs, row, recipe, how to rebuild it) of the long run's epoch `epoch` (None: the latest with every transfer run in)."
    import pretrain_long as L
    run = L.Long('full')
    pre = sorted((r for r in run.log.runs.values() if r.get('stage') == 'pretraining'), key=lambda r: r['epoch'])
    done = [c['epoch'] for c in L.curve(run)]
    if not done: sys.exit('the long run has no epoch with all its transfer runs yet: run benchmarks/pretrain_long.py')
    e = epoch or done[-1]
    if e not in done: sys.exit(f"epoch {e} of the long run has not all its transfer runs (these have: {done})")
    mine = [r for r in pre if r['epoch'] <= e]
    corpus = run.log.runs['corpus']
    record = dict(encoder=run.settings_of_encoder(), molecules=corpus['molecules'], epochs=e, seconds=sum(r['seconds'] for r in mine),
                  threads=max((r['threads'] or 0) for r in mine) or None, valid=mine[-1]['valid'])
    runs = {**{k: v for k, v in run.study_log.runs.items() if v.get('row') == S.BASELINE}, **run.log.runs}
    return (run.encoder(f'epoch {e}', L.SIZE), record, runs, f'epoch {e}', L.RECIPE,
            f"python benchmarks/pretrain_long.py (epoch {e} of {run.own['epochs']}; the corpus's shards, then each epoch, resumable)")


def card(name:str, recipe:str, size:str, pre:dict, runs:dict, row:str, corpus:str, reproduce:str) -> dict:
    "The model card of an encoder pretrained with `recipe` at `size` (`pre`: its pretraining record; `runs`: its transfer runs, as `row`, and no pretraining's), without the files' digests."
    enc = pre['encoder']
    n = pre.get('targets') or 0
    compute = (f"{pre['seconds']:,.0f} s of pretraining on {pre.get('threads', '?')} CPU thread(s) ({machine_info()['cpu']})"
               + (f", after {pre['descriptor_seconds']:,.0f} s computing the corpus's descriptors" if pre.get('descriptor_seconds') else ''))
    return dict(name=name, encoder=f"{enc['encoder'].upper()}, hidden {enc['hidden']}, {enc['layers']} layers (molnb.models, 2-D)",
                corpus=corpus,
                licence='MOSES: MIT (molsets 0.3.1); ZINC molecules are free to use', recipe=SUMMARY[recipe].format(n=n), study_recipe=recipe, size=size,
                epochs=pre['epochs'], molecules=pre['molecules'], compute=compute,
                reproduce=f"{reproduce}, then python benchmarks/ship_encoder.py {'--long ' + row.split()[-1] if row.startswith('epoch') else f'--recipe {recipe!r} --size {size}'} --name {name}",
                pretraining_validation=pre['valid'],
                summary=f"A {enc['encoder'].upper()} {enc['hidden']} x {enc['layers']} encoder pretrained for {pre['epochs']} epochs on {pre['molecules']:,} MOSES molecules: {SUMMARY[recipe].format(n=n)}.",
                transfer=transfer(runs, row, size),
                intended_use=(f"A starting point for fine-tuning property models on small sets of drug-like organic molecules: `molnb train --encoder-from {name}`, "
                              f"`molnb.fit.fit(data, encoder_from='{name}')` or `molnb.models.finetune_model('{name}', ...)`."),
                limits=LIMITS)


def main(args):
    from molnb.models import SHIPPED, card_markdown, file_digest
    if args.long is not None:
        src, pre, runs, row, recipe, reproduce = long_source(args.long or None)
        size, corpus = '128x4', f"{pre['molecules']:,} molecules of the MOSES training set (ZINC), every test molecule of the transfer sets left out"
    else:
        if not (args.recipe and args.size): sys.exit('name the study encoder to ship with --recipe and --size, or ship the long run\'s with --long')
        study = S.Study('full')
        src, pre, runs, row, recipe, size = study.encoder(args.recipe, args.size), study.log.runs[f'pretraining/{args.recipe}/{args.size}'], study.log.runs, args.recipe, args.recipe, args.size
        corpus = f"{pre['molecules']:,} molecules sampled from the MOSES training set (ZINC), every test molecule of the transfer sets left out"
        reproduce = f"python benchmarks/pretrain_study.py (its '{recipe}' {size} pretraining)"
    if not (src/'model.safetensors').exists(): sys.exit(f"{src} holds no encoder: run the benchmark that makes it first")
    c = card(args.name, recipe, size, pre, runs, row, corpus, reproduce)
    dst = SHIPPED/args.name
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(src/'model.safetensors', dst/'model.safetensors')
    cfg = json.loads((src/'config.json').read_text()); cfg['pretrained_only'] = True  # fine-tuned, never used to predict
    (dst/'config.json').write_text(json.dumps(cfg, indent=1))
    c['sha256'] = {f: file_digest(dst/f) for f in ('config.json', 'model.safetensors')}
    (dst/'card.json').write_text(json.dumps(c, indent=1) + '\n')
    (dst/'card.md').write_text(card_markdown(c))
    print(f"shipped {args.name} -> {dst} ({sum((dst/f).stat().st_size for f in c['sha256']) / 1e6:.2f} MB)")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--recipe', choices=S.RECIPES, help="the study's encoder: its recipe")
    ap.add_argument('--size', choices=list(S.SIZES), help="the study's encoder: its size")
    ap.add_argument('--long', nargs='?', type=int, const=0, help="ship the long run's encoder instead: the latest epoch with its transfer runs, or this epoch")
    ap.add_argument('--name', required=True, help='the name users load it by')
    main(ap.parse_args())
