"""Chapter 9 part 1 benchmark: POS tagger, dependency parser (greedy vs beam, local vs global),
LSTM sentiment, each beside a maintained-library anchor trained on the same split in the same run.

- tagger: held-out token accuracy (files wsj_0180-0199) of ``pos_tagger``; anchors NLTK's
  averaged perceptron (``PerceptronTagger(load=False).train``, 5 iterations) and the
  most-frequent-tag baseline (each training word's commonest tag, NN for unknown words).
- parser: UAS on the same held-out files (gold tags, punctuation included) of
  ``dependency_parser``: the locally trained scorer greedy and with beam 8, then after
  globally normalised training with early update, greedy and beam 8.
- sentiment: held-out accuracy (files cv900-cv999, 200 reviews) of ``lstm_sentiment``, trained
  once per seed of ``SENTIMENT_SEEDS``, and its validation accuracy (cv810-cv899, 180 reviews,
  at the best-validation epoch it keeps); anchor scikit-learn's TF-IDF (1-2 grams) + logistic
  regression on the same raw texts, scored on both splits.

Usage (run under the shared lock; ~15 min on a loaded 2-core CPU)::

    flock /tmp/fdl_heavy.lock python benchmarks/sequence.py [--epochs-scale 1.0] [--only tagger]

``--epochs-scale`` multiplies every system's default epochs (a longer run does better).
Results go to benchmarks/out/sequence.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("FDL_DATA_DIR", str(REPO.parent / "shared" / "data"))
OUT = REPO / "benchmarks" / "out"
SENTIMENT_SEEDS = (0, 1)  # the LSTM is trained once per seed; the first seed's run is the headline


def _epochs(name: str, scale: float) -> int:
    import fdl_keras

    return max(1, round(fdl_keras.get_spec(name).fit.epochs * scale))


def bench_tagger(scale: float) -> dict:
    from nltk.tag.perceptron import PerceptronTagger

    import fdl_keras
    from fdl_keras.data.treebank import tagged_sentences

    sentences, split = tagged_sentences()
    train = [list(s) for s, p in zip(sentences, split) if p == "train"]
    test = [list(s) for s, p in zip(sentences, split) if p == "test"]
    gold = [t for s in test for _, t in s]
    out = {"test_tokens": len(gold), "train_sentences": len(train)}

    counts: dict[str, Counter] = defaultdict(Counter)
    for s in train:
        for w, t in s:
            counts[w][t] += 1
    guess = [counts[w].most_common(1)[0][0] if w in counts else "NN" for s in test for w, _ in s]
    out["most_frequent_tag"] = sum(g == t for g, t in zip(guess, gold)) / len(gold)

    start = time.perf_counter()
    perceptron = PerceptronTagger(load=False)
    perceptron.train(train, nr_iter=5)
    predicted = [t for s in test for _, t in perceptron.tag([w for w, _ in s])]
    out["nltk_perceptron"] = sum(p == t for p, t in zip(predicted, gold)) / len(gold)
    out["nltk_perceptron_s"] = time.perf_counter() - start

    epochs = _epochs("pos_tagger", scale)
    result = fdl_keras.train(
        "pos_tagger", epochs=epochs, run_dir=OUT / "runs" / "pos_tagger", overwrite=True, verbose=2
    )
    out.update(
        pos_tagger=result.test_metrics["accuracy"], epochs=epochs, train_s=result.wall_time_s
    )
    return out


def bench_parser(scale: float) -> dict:
    import fdl_keras

    epochs = _epochs("dependency_parser", scale)
    start = time.perf_counter()
    result = fdl_keras.train(
        "dependency_parser",
        epochs=epochs,
        run_dir=OUT / "runs" / "dependency_parser",
        overwrite=True,
        verbose=2,
    )
    history = json.loads((Path(result.run_dir) / "global_history.json").read_text())
    return {
        **result.test_metrics,
        "epochs": epochs,
        "local_fit_s": result.wall_time_s,
        "total_s": time.perf_counter() - start,
        "global_loss_first_last_10": [
            sum(history["loss"][:10]) / 10,
            sum(history["loss"][-10:]) / 10,
        ],
        "gold_survived_first_last_10": [
            sum(history["survived"][:10]) / 10,
            sum(history["survived"][-10:]) / 10,
        ],
    }


def bench_sentiment(scale: float, seeds: tuple[int, ...] = SENTIMENT_SEEDS) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    import fdl_keras
    from fdl_keras.data.reviews import movie_review_texts

    texts, labels, split = movie_review_texts()
    train, validation, test = (split == s for s in ("train", "validation", "test"))
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform([t for t, s in zip(texts, train) if s])
    classifier = LogisticRegression(C=10.0, max_iter=2000).fit(features, labels[train])

    def anchor_accuracy(mask):
        held_out = vectorizer.transform([t for t, s in zip(texts, mask) if s])
        return float((classifier.predict(held_out) == labels[mask]).mean())

    out = {
        "tfidf_logreg": anchor_accuracy(test),
        "tfidf_logreg_validation": anchor_accuracy(validation),
        "tfidf_logreg_s": time.perf_counter() - start,
        "test_reviews": int(test.sum()),
        "validation_reviews": int(validation.sum()),
    }
    epochs = _epochs("lstm_sentiment", scale)
    runs = {}
    for seed in seeds:
        run_name = "lstm_sentiment" if seed == seeds[0] else f"lstm_sentiment_seed{seed}"
        result = fdl_keras.train(
            "lstm_sentiment",
            epochs=epochs,
            seed=seed,
            run_dir=OUT / "runs" / run_name,
            overwrite=True,
            verbose=2,
        )
        runs[seed] = {
            "test_accuracy": result.test_metrics["accuracy"],
            # The saved model is the best-validation epoch's (SentimentTask).
            "validation_accuracy": result.extras.get("best_val_accuracy"),
            "best_epoch": result.extras.get("best_epoch"),
            "final_train_accuracy": result.history["accuracy"][-1],
            "train_s": result.wall_time_s,
        }
    first = runs[seeds[0]]
    out.update(
        lstm_sentiment=first["test_accuracy"],
        epochs=epochs,
        train_s=first["train_s"],
        seeds={str(k): v for k, v in runs.items()},
        lstm_sentiment_mean=sum(r["test_accuracy"] for r in runs.values()) / len(runs),
    )
    return out


BENCHES = {"tagger": bench_tagger, "parser": bench_parser, "sentiment": bench_sentiment}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs-scale", type=float, default=1.0)
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "sequence.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    for name in args.only or list(BENCHES):
        start = time.perf_counter()
        results[name] = {**BENCHES[name](args.epochs_scale), "wall_s": time.perf_counter() - start}
        print(name, json.dumps(results[name], indent=1), flush=True)
        path.write_text(json.dumps(results, indent=2))
    results["machine"]["load_average_at_end"] = os.getloadavg()
    path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
