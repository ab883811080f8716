"""word2vec on the Brown corpus: ours (fdl_keras, TensorFlow) next to gensim's in one run.

Both train skip-gram with negative sampling on the same sentences (the Brown training split of
``load_dataset("brown")``, 90 % of the sentences), with the same dimensions, window, negatives,
subsampling, minimum count and epochs; gensim gets one worker thread per core. Recorded:
analogy accuracy on the package's list (3CosAdd), the Spearman correlation of each model's cosine
similarities with human ratings (WordSim-353 and SimLex-999, the copies gensim ships in
``gensim/test/test_data``; the pairs whose two words are in the Brown vocabulary), the Spearman
correlation of the two models' cosine similarities on 1,000 seeded word pairs (next to that of
two gensim runs with different seeds, the agreement to expect), the 10 nearest neighbours of 10
frequent words, and training words per second (training-split words x epochs / training wall
time; vocabulary and pipeline set-up excluded for both; ours includes tracing and XLA
compilation). The machine's
load average is recorded at the start and the end: run it alone, under the heavy-job lock.

    flock /tmp/fdl_heavy.lock python benchmarks/word2vec_brown.py --epochs 5
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out" / "embeddings"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get("FDL_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["FDL_DATA_DIR"] = str(SHARED_DATA)  # the checkout's sibling data folder
HUMAN_RATINGS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
PROBES = ("time", "man", "world", "house", "war", "money", "school", "church", "water", "said")


def rated_pairs(path: Path) -> list[tuple[str, str, float]]:
    """``(word, word, mean human rating)`` rows of a tab-separated file (``#`` lines skipped)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.strip().split("\t")
        if line.startswith("#") or len(fields) < 3:
            continue
        rows.append((fields[0].lower(), fields[1].lower(), float(fields[2])))
    return rows


def human_correlation(models: dict, vocab, rows) -> dict:
    """Spearman correlation of each model's cosine similarities with the human ratings, on the
    pairs whose two words are both in ``vocab`` (the same pairs for every model)."""
    from scipy.stats import spearmanr

    from fdl_keras.embeddings.word2vec import similarities

    known = set(vocab)
    covered = [(a, b, r) for a, b, r in rows if a in known and b in known]
    ratings = [r for _, _, r in covered]
    result = {"pairs": len(rows), "covered": len(covered)}
    for name, vectors in models.items():
        cosines = similarities(vectors, vocab, [(a, b) for a, b, _ in covered])
        result[name] = float(spearmanr(cosines, ratings).statistic)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shared-negatives",
        type=int,
        default=None,
        help="pairs per group sharing negatives (default: the registered system's)",
    )
    parser.add_argument("--tag", default="", help="suffix of the JSON report's name")
    args = parser.parse_args()

    from gensim.models import Word2Vec as GensimWord2Vec
    from scipy.stats import spearmanr

    import fdl_keras
    from fdl_keras.data import load_dataset
    from fdl_keras.data.brown import SKIPGRAM
    from fdl_keras.embeddings.analogies import ANALOGIES
    from fdl_keras.embeddings.word2vec import (
        analogy_accuracy,
        nearest_neighbours,
        similarities,
        write_projector_files,
    )

    load_at_start = os.getloadavg()
    data = load_dataset("brown", batch_size=4096, seed=args.seed)
    vocab = data.info.vocabulary
    sentences = data.arrays["sentences"]
    words = sum(map(len, sentences))

    result = fdl_keras.train(
        "word2vec_brown",
        epochs=args.epochs,
        seed=args.seed,
        run_dir=OUT / "run_word2vec",
        overwrite=True,
        verbose=2,
        embedding_dim=args.dim,
        **({} if args.shared_negatives is None else {"shared_negatives": args.shared_negatives}),
    )
    ours = result.model.vectors()
    ours_wps = words * args.epochs / result.wall_time_s

    def gensim_run(seed):
        model = GensimWord2Vec(
            vector_size=args.dim,
            window=SKIPGRAM.window,
            min_count=SKIPGRAM.min_count,
            sg=1,
            negative=SKIPGRAM.negatives,
            sample=SKIPGRAM.sample,
            ns_exponent=SKIPGRAM.power,
            workers=os.cpu_count(),
            seed=seed,
        )
        model.build_vocab(sentences)
        start = time.perf_counter()
        model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
        wall = time.perf_counter() - start
        assert len(model.wv) == len(vocab), (len(model.wv), len(vocab))
        return np.stack([model.wv[w] for w in vocab]), wall

    gensim, gensim_wall = gensim_run(args.seed)
    gensim_b, _ = gensim_run(args.seed + 1)
    gensim_wps = words * args.epochs / gensim_wall

    test_data = Path(__import__("gensim").__file__).parent / "test" / "test_data"
    models = {"ours": ours, "gensim": gensim, "gensim_second_seed": gensim_b}
    human = {
        name: human_correlation(models, vocab, rated_pairs(test_data / file))
        for name, file in HUMAN_RATINGS.items()
    }

    rng = np.random.default_rng(0)
    top = min(2000, len(vocab))
    pairs = [(vocab[a], vocab[b]) for a, b in rng.integers(0, top, size=(1000, 2)) if a != b]
    ours_sim, gensim_sim = similarities(ours, vocab, pairs), similarities(gensim, vocab, pairs)
    gensim_b_sim = similarities(gensim_b, vocab, pairs)
    report = {
        "epochs": args.epochs,
        "dim": args.dim,
        "shared_negatives": result.model.get_config()["shared_negatives"],
        "skipgram": SKIPGRAM.__dict__,
        "train_words": words,
        "vocabulary": len(vocab),
        "cores": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "ours": {
            "analogy": analogy_accuracy(ours, vocab, ANALOGIES),
            "words_per_second": ours_wps,
            "train_seconds": result.wall_time_s,
            "heldout_pair_loss": result.test_metrics["loss"],
            "neighbours": {w: nearest_neighbours(ours, vocab, w) for w in PROBES},
        },
        "gensim": {
            "version": __import__("gensim").__version__,
            "analogy": analogy_accuracy(gensim, vocab, ANALOGIES),
            "analogy_second_seed": analogy_accuracy(gensim_b, vocab, ANALOGIES),
            "words_per_second": gensim_wps,
            "train_seconds": gensim_wall,
            "neighbours": {w: nearest_neighbours(gensim, vocab, w) for w in PROBES},
        },
        "human_similarity_spearman": human,
        "similarity_spearman": {
            "ours_vs_gensim": float(spearmanr(ours_sim, gensim_sim).statistic),
            "gensim_vs_gensim_other_seed": float(spearmanr(gensim_b_sim, gensim_sim).statistic),
            "pairs": len(pairs),
        },
        "speed_ratio": ours_wps / gensim_wps,
    }
    write_projector_files(ours, vocab, OUT / "projector")
    (OUT / f"word2vec{args.tag}.json").write_text(json.dumps(report, indent=1))
    for side in ("ours", "gensim"):
        r = report[side]
        print(
            f"{side}: analogy {r['analogy']['accuracy']:.1%} of {r['analogy']['covered']}, "
            f"{r['words_per_second']:,.0f} words/s"
        )
    print("similarity spearman", report["similarity_spearman"])
    for name, r in human.items():
        print(
            f"{name}: {r['covered']} of {r['pairs']} pairs covered; spearman ours "
            f"{r['ours']:.3f}, gensim {r['gensim']:.3f} (second seed {r['gensim_second_seed']:.3f})"
        )
    print(f"speed ratio {report['speed_ratio']:.2f}; load {load_at_start} -> {os.getloadavg()}")
    for w in PROBES:
        print(w, "| ours:", ", ".join(n for n, _ in report["ours"]["neighbours"][w]))
        print(w, "| gensim:", ", ".join(n for n, _ in report["gensim"]["neighbours"][w]))


if __name__ == "__main__":
    main()
