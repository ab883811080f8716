"""Chapter 9 translation benchmark: seq2seq + attention vs the Transformer at one wall-clock
budget on Tatoeba fr -> en, scored with sacreBLEU (BLEU, chrF) on the held-out split, then
Keras vs onnxruntime decoding: token equality and greedy sentences/second at batch 1.

    python benchmarks/translation.py --budget 300          # ~13 min on 2 CPU cores
    python benchmarks/translation.py --budget 3600         # a longer, better run

Writes benchmarks/out/translation/results.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("FDL_DATA_DIR", str(REPO.parent / "shared" / "data"))

import keras  # noqa: E402

import fdl_keras  # noqa: E402
from fdl_keras.data import load_dataset  # noqa: E402
from fdl_keras.sequence.decoding import (  # noqa: E402
    greedy,
    keras_runtime,
    onnx_runtime,
    translate_ids,
)
from fdl_keras.sequence.translate import export_translator  # noqa: E402
from fdl_keras.sequence.translation_task import bleu_chrf  # noqa: E402

OUT = REPO / "benchmarks" / "out" / "translation"
SYSTEMS = ("seq2seq_attention_fr_en", "transformer_fr_en")


class TimeBudget(keras.callbacks.Callback):
    """Stops ``fit`` after ``seconds`` of training, counted from the end of the first step
    (which traces the graph); counts the steps taken."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.steps, self.start = seconds, 0, None

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.start = self.start or time.perf_counter()
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def speed(runtime, sources: list, cap) -> float:
    """Greedy sentences per second at batch 1 (after one warm-up sentence)."""
    from fdl_keras.data.translation import pad_pairs

    padded = [pad_pairs([s], [[]])[0][0] for s in sources]
    greedy(runtime, padded[0], cap=cap)
    start = time.perf_counter()
    for source in padded:
        greedy(runtime, source, cap=cap)
    return len(padded) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds per system")
    parser.add_argument("--limit", type=int, default=None, help="training pairs (default all)")
    parser.add_argument("--equality", type=int, default=200, help="sentences for ONNX == Keras")
    parser.add_argument("--speed", type=int, default=100, help="sentences timed at batch 1")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--beam-sentences", type=int, default=300)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS))
    parser.add_argument(
        "--beam-all",
        action="store_true",
        help="also score beam search on the whole test split (onnxruntime, whose tokens equal "
        "Keras' on the first --beam-sentences)",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = load_dataset("tatoeba_fr_en", limit=args.limit)
    sources, references = data.texts["test"]
    test_ids = data.ids["test"][0]
    results = {
        "budget_s": args.budget,
        "train_pairs": data.info.num_train,
        "test_pairs": len(sources),
        "load_average": os.getloadavg(),
        "copy_source_baseline": bleu_chrf(list(sources), list(references)),
    }
    for name in args.systems:
        load_before = os.getloadavg()
        budget = TimeBudget(args.budget)
        run_dir = OUT / name
        result = fdl_keras.train(
            name,
            epochs=100,
            limit=args.limit,
            run_dir=run_dir,
            callbacks=[budget],
            overwrite=True,
            verbose=2,
        )
        model = result.model
        cap = model.get_config().get("max_length")
        tokenizer = data.tokenizers[1]
        in_keras = keras_runtime(model)
        export_translator(run_dir)
        in_onnx = onnx_runtime(run_dir / "translator")
        n = args.equality
        greedy_keras = translate_ids(in_keras, test_ids[:n], cap=cap)
        greedy_onnx = translate_ids(in_onnx, test_ids[:n], cap=cap)
        m = args.beam_sentences
        beam_keras = translate_ids(in_keras, test_ids[:m], beam=args.beam, cap=cap)
        beam_onnx = translate_ids(in_onnx, test_ids[:m], beam=args.beam, cap=cap)
        greedy_subset = bleu_chrf(
            tokenizer.decode(translate_ids(in_keras, test_ids[:m], cap=cap)), list(references[:m])
        )
        entry = {
            "load_average_before": load_before,
            "load_average_after_training": os.getloadavg(),
            "wall_time_s": result.wall_time_s,
            "steps": budget.steps,
            "params": model.count_params(),
            "greedy_test": {k: result.test_metrics[k] for k in ("bleu", "chrf")},
            "test_loss": result.test_metrics.get("loss"),
            f"greedy_first_{m}": greedy_subset,
            f"beam{args.beam}_first_{m}": bleu_chrf(
                tokenizer.decode(beam_keras), list(references[:m])
            ),
            "onnx_equal_greedy": f"{sum(a == b for a, b in zip(greedy_keras, greedy_onnx))}/{n}",
            "onnx_equal_beam": f"{sum(a == b for a, b in zip(beam_keras, beam_onnx))}/{m}",
            "sentences_per_s_keras": speed(in_keras, test_ids[: args.speed], cap),
            "sentences_per_s_onnx": speed(in_onnx, test_ids[: args.speed], cap),
            "examples": [
                (s, r, h)
                for s, r, h in zip(sources[:5], references[:5], tokenizer.decode(greedy_keras[:5]))
            ],
        }
        if args.beam_all:
            start = time.perf_counter()
            beam_all = translate_ids(in_onnx, test_ids, beam=args.beam, cap=cap)
            entry[f"beam{args.beam}_test"] = bleu_chrf(tokenizer.decode(beam_all), list(references))
            entry[f"beam{args.beam}_test_seconds"] = time.perf_counter() - start
        results[name] = entry
        print(json.dumps({name: entry}, indent=1, ensure_ascii=False), flush=True)
        (OUT / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(
        "| system | steps | wall s | BLEU greedy | chrF | ONNX==Keras | sent/s Keras | sent/s ORT |"
    )
    for name in args.systems:
        e = results[name]
        print(
            f"| {name} | {e['steps']} | {e['wall_time_s']:.0f} | {e['greedy_test']['bleu']:.1f} | "
            f"{e['greedy_test']['chrf']:.1f} | {e['onnx_equal_greedy']} | "
            f"{e['sentences_per_s_keras']:.1f} | {e['sentences_per_s_onnx']:.1f} |"
        )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
