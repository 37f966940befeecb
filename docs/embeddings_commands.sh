#!/usr/bin/env bash
# The exact commands behind the numbers in docs/embeddings.md: monolingual skip-gram vectors for
# en, es, nl, de trained on the TRAIN splits of the shared corpora, the MUSE dictionaries split
# into train/test source words, es/nl/de -> en alignment by three methods, BLI on the test part.
#
#   bash docs/embeddings_commands.sh [DATA_DIR] [STEP...]
#
# DATA_DIR defaults to ../shared/data; STEP is any of train split align norefine adversarial
# evaluate (default: all of these, in this order) and frequent (a diagnostic, only when named).
# Everything is written under runs/embeddings/ (gitignored). Each command prints one JSON line;
# the lines are also appended to runs/embeddings/results.jsonl.
set -euo pipefail

DATA=${1:-../shared/data}
shift || true
STEPS=${*:-train split align norefine adversarial evaluate}
OUT=runs/embeddings
mkdir -p "$OUT/corpus" "$OUT/vec" "$OUT/dict" "$OUT/aligned"
# One BLAS/torch thread: the numbers were taken on a 2-core machine shared with another job.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# `babeltag ... | tee -a results.jsonl`, and the CPU seconds of the command on stderr.
run() {
    /usr/bin/time -f '# cpu %U user + %S sys s, wall %e s, max rss %M KB' babeltag embeddings "$@" \
        | tee -a "$OUT/results.jsonl"
}

has_step() { [[ " $STEPS " == *" $1 "* ]]; }

LANGS="es nl de"
TRAIN_OPTIONS=(--dim 100 --epochs 5 --min-count 2 --window 5 --seed 1)

if has_step train; then
    # `train` takes one --format for all its inputs, and English mixes CoNLL-U (UD EWT) with column
    # files. So the FORMs of EWT train (multiword ranges and empty nodes skipped by babeltag's
    # reader) are first written one token per line, blank line between sentences: a column file.
    python - "$DATA/ud/en/en_ewt-ud-train.conllu.gz" "$OUT/corpus/en_ewt-ud-train.tokens" <<'EOF'
import sys
from babeltag.embeddings.train import sentences_from_files
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for sentence in sentences_from_files(sys.argv[1], "conllu"):
        out.write("\n".join(sentence) + "\n\n")
EOF
    # Column files (token in column 0; CoNLL-2002/2003 are space-separated, WikiANN and the XTREME
    # UD file tab-separated: the reader splits at any whitespace). TRAIN splits only.
    run train "$OUT/corpus/en_ewt-ud-train.tokens" "$DATA/ner/en/train.txt.gz" \
        "$DATA/wikiann/en/train.tsv.gz" --format conll "${TRAIN_OPTIONS[@]}" --out "$OUT/vec/en.vec"
    run train "$DATA/ner/es/train.txt.gz" "$DATA/wikiann/es/train.tsv.gz" \
        --format conll "${TRAIN_OPTIONS[@]}" --out "$OUT/vec/es.vec"
    run train "$DATA/ner/nl/train.txt.gz" "$DATA/ud-train/nl/train.tsv.gz" "$DATA/wikiann/nl/train.tsv.gz" \
        --format conll "${TRAIN_OPTIONS[@]}" --out "$OUT/vec/nl.vec"
    # German CoNLL-2003 has no train file here: WikiANN train is all the German training text.
    run train "$DATA/wikiann/de/train.tsv.gz" \
        --format conll "${TRAIN_OPTIONS[@]}" --out "$OUT/vec/de.vec"
fi

if has_step split; then
    for lang in $LANGS; do
        run split "$DATA/dict/muse/$lang-en.txt.gz" --test-size 1500 --seed 1 \
            --train-out "$OUT/dict/$lang-en.train.txt" --test-out "$OUT/dict/$lang-en.test.txt"
    done
fi

if has_step align; then
    for lang in $LANGS; do
        run align "$OUT/vec/$lang.vec" "$OUT/vec/en.vec" --method identical \
            --out "$OUT/aligned/$lang-identical.vec" --target-out "$OUT/aligned/en-normalised.vec"
        run align "$OUT/vec/$lang.vec" "$OUT/vec/en.vec" --method dictionary \
            --dictionary "$OUT/dict/$lang-en.train.txt" --out "$OUT/aligned/$lang-dictionary.vec"
    done
fi

if has_step norefine; then
    # Extra row (not asked for): Procrustes on the train dictionary alone, without self-learning.
    for lang in $LANGS; do
        run align "$OUT/vec/$lang.vec" "$OUT/vec/en.vec" --method dictionary --refine 0 \
            --dictionary "$OUT/dict/$lang-en.train.txt" --out "$OUT/aligned/$lang-dictionary-norefine.vec"
    done
fi

if has_step adversarial; then
    # `babeltag embeddings align --method adversarial` runs MUSE's full schedule (a 2048x2048
    # discriminator, 5 epochs of 1M words per side, on the CPU): about 0.29 CPU s per map step here,
    # 12 CPU hours per language. The CLI has no option for a smaller schedule, so this step does what
    # `align_command` does (read, normalise unit,center,unit, learn_map, write) through the library,
    # with smaller AdversarialSettings, and also prints MUSE's unsupervised selection criterion
    # (mean cosine of mutual CSLS pairs among the 10k most frequent words) before and after refinement.
    for lang in $LANGS; do
        /usr/bin/time -f '# cpu %U user + %S sys s, wall %e s, max rss %M KB' \
        python - "$OUT/vec/$lang.vec" "$OUT/vec/en.vec" "$OUT/aligned/$lang-adversarial.vec" <<'EOF' \
            | tee -a "$OUT/results.jsonl"
import json, sys, time
import numpy as np
import torch
from babeltag.embeddings.align import (AdversarialSettings, adversarial_align, induce_dictionary,
                                       mean_cosine_criterion, normalise, refine)
from babeltag.embeddings.vectors import WordVectors, read_vectors, write_vec

torch.set_num_threads(1)
source, target, out = sys.argv[1:4]
settings = AdversarialSettings(hidden=(512, 512), most_frequent=10000, epochs=3, epoch_size=32_000)
src, tgt = read_vectors(source), read_vectors(target)
X = normalise(src.vectors, ("unit", "center", "unit"))
Y = normalise(tgt.vectors, ("unit", "center", "unit"))
start = time.perf_counter()
W0 = adversarial_align(X, Y, settings, seed=1)  # then as learn_map(method="adversarial"):
seconds_adversarial = time.perf_counter() - start
seeds = induce_dictionary(X @ W0.T, Y, "csls", 15000, 10)
W = refine(X, Y, seeds, 5, "csls", 15000, 10)
seconds = time.perf_counter() - start
write_vec(WordVectors(src.words, (X @ W.T).astype(np.float32)), out)
print(json.dumps({
    "out": out, "method": "adversarial", "settings": {
        "hidden": settings.hidden, "most_frequent": settings.most_frequent, "epochs": settings.epochs,
        "epoch_size": settings.epoch_size, "batch_size": settings.batch_size},
    "criterion_adversarial": round(mean_cosine_criterion(X, Y, W0), 4),
    "seed_pairs": len(seeds),
    "criterion_refined": round(mean_cosine_criterion(X, Y, W), 4),
    "seconds_adversarial": round(seconds_adversarial, 1), "seconds": round(seconds, 1)}))
EOF
    done
fi

if has_step evaluate; then
    for lang in $LANGS; do
        for method in identical dictionary adversarial dictionary-norefine; do
            [[ -f "$OUT/aligned/$lang-$method.vec" ]] || continue
            run evaluate "$OUT/aligned/$lang-$method.vec" "$OUT/aligned/en-normalised.vec" \
                --dictionary "$OUT/dict/$lang-en.test.txt"
        done
    done
fi

if has_step frequent; then
    # Not in the default steps: a diagnostic run once by hand for docs/embeddings.md. For the
    # identical and dictionary maps, the 3 CSLS neighbours of a few frequent words, and P@k on the
    # FULL MUSE dictionary restricted to source words among the 5,000 most frequent of our source
    # vocabulary (a fair test for `identical`, which saw no dictionary; optimistic for `dictionary`,
    # most of whose pairs were its training pairs).
    python - "$DATA" <<'EOF'
import sys
import numpy as np
from babeltag.embeddings.vectors import read_vec, word_index
from babeltag.embeddings.align import nearest
from babeltag.embeddings.evaluate import read_dictionary, bli_precision
en=read_vec("runs/embeddings/aligned/en-normalised.vec")
for l,ws in [("es","pero casa gobierno año presidente ciudad dos"),("nl","maar huis regering jaar president stad twee"),("de","aber Haus Regierung Jahr Präsident Stadt zwei")]:
  for m in ["identical","dictionary"]:
    s=read_vec(f"runs/embeddings/aligned/{l}-{m}.vec")
    idx=word_index(s.words)
    rows=[idx[w] for w in ws.split() if w in idx]
    nn=nearest(s.vectors,en.vectors,"csls",k=3,rows=rows)
    print(l,m,[(s.words[r],[en.words[j] for j in row]) for r,row in zip(rows,nn)])
    # frequent-word diagnostic on full dict, source words among top 5000 in our vocab
    d=read_dictionary(f"{sys.argv[1]}/dict/muse/{l}-en.txt.gz")
    top=set(s.words[:5000])
    test=set(x.split()[0] for x in open(f"runs/embeddings/dict/{l}-en.test.txt"))
    sub=[p for p in d if p[0] in top]
    r=bli_precision(s,en,sub,method="csls")
    print("  top5000-vocab full-dict:",{k:round(v,3) for k,v in r.items()})
EOF
fi
