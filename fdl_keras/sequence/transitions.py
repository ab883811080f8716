"""The arc-standard transition system, its static oracle and Chen & Manning's features.

A configuration is a stack, a buffer and the arcs built so far; token 0 is the artificial
ROOT. ``SHIFT`` moves the buffer's front onto the stack; ``LEFT`` makes the top ``s1`` the
head of ``s2`` and pops ``s2``; ``RIGHT`` makes ``s2`` the head of ``s1`` and pops ``s1``. A
sentence of ``n`` words is parsed in exactly ``2n`` transitions. The static oracle prefers
``LEFT``, then ``RIGHT`` once ``s1`` has collected all its dependents, else ``SHIFT``; it
reproduces every projective tree exactly.

The features are Chen & Manning's 18 word and 18 tag positions (their 12 label features are
absent: the NLTK dependency treebank has no arc labels): the top three of stack and buffer, the
first/second left- and right-most children of ``s1`` and ``s2``, and the left-most of the
left-most / right-most of the right-most child of each.

Written by hand: no maintained library offers an arc-standard system for Keras models.

References: Nivre, "Incrementality in deterministic dependency parsing", 2004; Chen &
Manning, "A Fast and Accurate Dependency Parser using Neural Networks", EMNLP 2014.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SHIFT, LEFT, RIGHT = 0, 1, 2
TRANSITIONS = ("shift", "left_arc", "right_arc")
NUM_FEATURES = 18  # positions; each gives a word and a tag
NULL_ID = 0  # "no token here" (the vocabulary's padding id)
ROOT = "<root>"  # the ROOT token's word and tag (both vocabularies hold it)


class Configuration:
    """Stack, buffer (the words from ``next`` on) and arcs of one sentence of ``n`` words."""

    __slots__ = ("n", "stack", "next", "heads", "left", "right")

    def __init__(self, n: int):
        self.n = n
        self.stack = [0]
        self.next = 1
        self.heads = [-1] * (n + 1)
        # Each token's left and right children, ascending, as tuples: a copy (one per beam
        # candidate) shares them and copies only the outer lists.
        self.left: list[tuple[int, ...]] = [()] * (n + 1)
        self.right: list[tuple[int, ...]] = [()] * (n + 1)

    def copy(self) -> Configuration:
        other = Configuration.__new__(Configuration)
        other.n, other.next = self.n, self.next
        other.stack = list(self.stack)
        other.heads = list(self.heads)
        other.left = list(self.left)
        other.right = list(self.right)
        return other

    def terminal(self) -> bool:
        return self.next > self.n and len(self.stack) == 1

    def legal(self) -> np.ndarray:
        """Boolean mask over ``(SHIFT, LEFT, RIGHT)`` of the transitions allowed now."""
        return np.array(self.allowed())

    def allowed(self) -> tuple[bool, bool, bool]:
        """:meth:`legal` as a tuple (no array: the oracle asks at every step)."""
        depth = len(self.stack)
        return (
            self.next <= self.n,
            depth > 2,  # s2 is a word, never ROOT
            depth > 2 or (depth == 2 and self.next > self.n),  # ROOT takes one child, last
        )

    def apply(self, transition: int) -> None:
        if transition == SHIFT:
            self.stack.append(self.next)
            self.next += 1
        elif transition == LEFT:
            head, dependent = self.stack[-1], self.stack.pop(-2)
            self._attach(head, dependent)
        elif transition == RIGHT:
            dependent = self.stack.pop()
            self._attach(self.stack[-1], dependent)
        else:
            raise ValueError(f"unknown transition {transition}")

    def _attach(self, head: int, dependent: int) -> None:
        # Children arrive in order: a LEFT dependent (s2) lies left of the head's earlier ones,
        # which sat above it on the stack; a RIGHT dependent (s1) was shifted after the head's
        # earlier right children were popped.
        self.heads[dependent] = head
        if dependent < head:
            self.left[head] = (dependent, *self.left[head])
        else:
            self.right[head] = (*self.right[head], dependent)

    def feature_positions(self) -> list[int]:
        """The 18 token positions of Chen & Manning's features (-1 where there is none)."""
        stack, n, after = self.stack, self.n, self.next
        left, right = self.left, self.right
        depth = len(stack)
        s1 = stack[-1] if depth >= 1 else -1
        s2 = stack[-2] if depth >= 2 else -1
        out = [
            s1,
            s2,
            stack[-3] if depth >= 3 else -1,
            after if after <= n else -1,
            after + 1 if after + 1 <= n else -1,
            after + 2 if after + 2 <= n else -1,
        ]
        grandchildren = []
        for top in (s1, s2):  # lc1, rc1, lc2, rc2 of each; then lc1(lc1), rc1(rc1) of each
            if top < 0:
                out += (-1, -1, -1, -1)
                grandchildren += (-1, -1)
                continue
            lefts, rights = left[top], right[top]
            lc1 = lefts[0] if lefts else -1
            rc1 = rights[-1] if rights else -1
            out += (
                lc1,
                rc1,
                lefts[1] if len(lefts) >= 2 else -1,
                rights[-2] if len(rights) >= 2 else -1,
            )
            grandchildren += (
                left[lc1][0] if lc1 >= 0 and left[lc1] else -1,
                right[rc1][-1] if rc1 >= 0 and right[rc1] else -1,
            )
        return out + grandchildren


def features(config: Configuration, word_ids: Sequence[int], tag_ids: Sequence[int]) -> list[int]:
    """The 36 feature ids: word ids then tag ids of the feature positions (``word_ids[0]`` and
    ``tag_ids[0]`` are ROOT's; a missing position is :data:`NULL_ID`)."""
    positions = config.feature_positions()
    return [word_ids[p] if p >= 0 else NULL_ID for p in positions] + [
        tag_ids[p] if p >= 0 else NULL_ID for p in positions
    ]


def is_projective(heads: Sequence[int]) -> bool:
    """``heads[i - 1]`` is word ``i``'s head (0 for ROOT): True when no two arcs cross."""
    heads = np.asarray(heads, dtype=np.int64).reshape(-1)
    dependents = np.arange(1, len(heads) + 1)
    lo, hi = np.minimum(heads, dependents), np.maximum(heads, dependents)
    # Arcs (a, b) and (c, d) cross when a < c < b < d.
    crossing = (lo[:, None] < lo[None, :]) & (lo[None, :] < hi[:, None]) & (hi[:, None] < hi)
    return not crossing.any()


def static_oracle(heads: Sequence[int]) -> list[int]:
    """The ``2n`` arc-standard transitions that build the projective tree ``heads``
    (``heads[i - 1]`` is word ``i``'s head, 0 for ROOT).

    Raises:
        ValueError: ``heads`` is not a projective tree with one ROOT child.
    """
    n = len(heads)
    gold = [-1, *heads]
    pending = [0] * (n + 1)  # dependents each token still has to collect
    for h in heads:
        pending[h] += 1
    config, out = Configuration(n), []
    stack = config.stack
    while not config.terminal():
        can_shift, can_left, can_right = config.allowed()
        if can_left and gold[stack[-2]] == stack[-1]:
            t = LEFT
        elif can_right and gold[stack[-1]] == stack[-2] and pending[stack[-1]] == 0:
            t = RIGHT
        elif can_shift:
            t = SHIFT
        else:
            raise ValueError("the tree is not projective (or has several ROOT children)")
        if t != SHIFT:
            dependent = stack[-2] if t == LEFT else stack[-1]
            pending[gold[dependent]] -= 1
        config.apply(t)
        out.append(t)
    return out


def oracle_examples(
    heads: Sequence[int], word_ids: np.ndarray, tag_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(features [2n, 36], transitions [2n])`` of the oracle's parse of one sentence
    (:func:`features` of each configuration on the way)."""
    config, positions = Configuration(len(heads)), []
    transitions = static_oracle(heads)
    for t in transitions:
        positions.append(config.feature_positions())
        config.apply(t)
    if not positions:
        return np.zeros((0, 2 * NUM_FEATURES), np.int32), np.zeros((0,), np.int32)
    at = np.array(positions, dtype=np.intp)
    # Each id table gains NULL_ID at its end, where position -1 ("none") points.
    words = np.append(np.asarray(word_ids, dtype=np.int32), np.int32(NULL_ID))
    tags = np.append(np.asarray(tag_ids, dtype=np.int32), np.int32(NULL_ID))
    x = np.concatenate([words[at], tags[at]], axis=1)
    return x, np.array(transitions, dtype=np.int32)


def replay(n: int, transitions: Sequence[int]) -> list[int]:
    """The heads (of words 1..n) that ``transitions`` build."""
    config = Configuration(n)
    for t in transitions:
        config.apply(t)
    return config.heads[1:]


__all__ = [
    "LEFT",
    "NULL_ID",
    "NUM_FEATURES",
    "RIGHT",
    "ROOT",
    "SHIFT",
    "TRANSITIONS",
    "Configuration",
    "features",
    "is_projective",
    "oracle_examples",
    "replay",
    "static_oracle",
]
