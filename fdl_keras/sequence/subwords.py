"""Subword vocabularies with SentencePiece (Kudo & Richardson, EMNLP 2018, unigram model).

One model per language, trained on the training split only. Ids are fixed: 0 padding, 1
unknown, 2 start of sentence, 3 end of sentence, so padding masks are ``ids != 0`` everywhere.
A model is one ``.model`` file; a run keeps its two files so ``translate(run, ...)`` works in a
new process.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from fdl_keras.errors import InvalidInputError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3


class SubwordTokenizer:
    """A SentencePiece model: text <-> ids, with the package's fixed special ids.

    Args:
        model: the serialised SentencePiece model (the bytes of a ``.model`` file).
    """

    def __init__(self, model: bytes):
        import sentencepiece as spm

        self.model = bytes(model)
        self.processor = spm.SentencePieceProcessor(model_proto=self.model)
        special = (
            self.processor.pad_id(),
            self.processor.unk_id(),
            self.processor.bos_id(),
            self.processor.eos_id(),
        )
        if special != (PAD_ID, UNK_ID, BOS_ID, EOS_ID):
            raise InvalidInputError(
                f"SentencePiece model has special ids {special}, expected pad/unk/bos/eos = "
                f"{(PAD_ID, UNK_ID, BOS_ID, EOS_ID)}; train it with train_tokenizer()"
            )

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Subword ids of each text (no start/end ids)."""
        return self.processor.encode(list(texts))

    def decode(self, ids: Iterable[Sequence[int]]) -> list[str]:
        """Texts of id sequences; the special ids are dropped."""
        return [self.processor.decode([int(i) for i in row if int(i) > EOS_ID]) for row in ids]

    def pieces(self, ids: Sequence[int]) -> list[str]:
        """The subword pieces of ``ids`` (for attention plots)."""
        return [self.processor.id_to_piece(int(i)) for i in ids]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(self.model)
        partial.replace(path)
        return path


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> SubwordTokenizer:
    """Trains a unigram SentencePiece model of at most ``vocab_size`` pieces on ``texts``.

    ``hard_vocab_limit`` is off, so a small corpus gets a smaller vocabulary instead of an
    error; training is single-threaded and so deterministic.
    """
    import sentencepiece as spm

    if vocab_size < 8:
        raise InvalidInputError(f"vocab_size must be >= 8, got {vocab_size}")
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise InvalidInputError("cannot train a tokenizer on no text")
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=out,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        hard_vocab_limit=False,
        num_threads=1,
        minloglevel=2,
    )
    return SubwordTokenizer(out.getvalue())


def load_tokenizer(path: str | Path) -> SubwordTokenizer:
    """The SentencePiece model in ``path``, with a one-line error when it is missing or bad."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(
            f"no tokenizer at {path}; a translation run keeps source.model and target.model "
            "in its run dir - train the run again with `fdl train`"
        )
    try:
        return SubwordTokenizer(path.read_bytes())
    except InvalidInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged file
        raise InvalidInputError(
            f"{path} is not a SentencePiece model ({type(exc).__name__}); train the run again"
        ) from None


__all__ = [
    "BOS_ID",
    "EOS_ID",
    "PAD_ID",
    "UNK_ID",
    "SubwordTokenizer",
    "load_tokenizer",
    "train_tokenizer",
]
