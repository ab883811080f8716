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
        self.left: list[list[int]] = [[] for _ in range(n + 1)]  # left children, ascending
        self.right: list[list[int]] = [[] for _ in range(n + 1)]  # right children, ascending

    def copy(self) -> Configuration:
        other = Configuration.__new__(Configuration)
        other.n, other.next = self.n, self.next
        other.stack = list(self.stack)
        other.heads = list(self.heads)
        other.left = [list(c) for c in self.left]
        other.right = [list(c) for c in self.right]
        return other

    def terminal(self) -> bool:
        return self.next > self.n and len(self.stack) == 1

    def legal(self) -> np.ndarray:
        """Boolean mask over ``(SHIFT, LEFT, RIGHT)`` of the transitions allowed now."""
        depth = len(self.stack)
        return np.array(
            [
                self.next <= self.n,
                depth > 2,  # s2 is a word, never ROOT
                depth > 2 or (depth == 2 and self.next > self.n),  # ROOT takes one child, last
            ]
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
        self.heads[dependent] = head
        side = self.left[head] if dependent < head else self.right[head]
        side.append(dependent)
        side.sort()

    def feature_positions(self) -> list[int]:
        """The 18 token positions of Chen & Manning's features (-1 where there is none)."""
        stack, n = self.stack, self.n
        s = [stack[-i] if len(stack) >= i else -1 for i in (1, 2, 3)]
        b = [self.next + i if self.next + i <= n else -1 for i in (0, 1, 2)]
        out = s + b
        for top in s[:2]:
            lc1, rc1 = self._lc(top, 1), self._rc(top, 1)
            out += [lc1, rc1, self._lc(top, 2), self._rc(top, 2)]
        for top in s[:2]:
            out += [self._lc(self._lc(top, 1), 1), self._rc(self._rc(top, 1), 1)]
        return out

    def _lc(self, token: int, k: int) -> int:
        if token < 0:
            return -1
        children = self.left[token]
        return children[k - 1] if len(children) >= k else -1

    def _rc(self, token: int, k: int) -> int:
        if token < 0:
            return -1
        children = self.right[token]
        return children[-k] if len(children) >= k else -1


def features(config: Configuration, word_ids: Sequence[int], tag_ids: Sequence[int]) -> list[int]:
    """The 36 feature ids: word ids then tag ids of the feature positions (``word_ids[0]`` and
    ``tag_ids[0]`` are ROOT's; a missing position is :data:`NULL_ID`)."""
    positions = config.feature_positions()
    return [word_ids[p] if p >= 0 else NULL_ID for p in positions] + [
        tag_ids[p] if p >= 0 else NULL_ID for p in positions
    ]


def is_projective(heads: Sequence[int]) -> bool:
    """``heads[i - 1]`` is word ``i``'s head (0 for ROOT): True when no two arcs cross."""
    arcs = [(min(h, d), max(h, d)) for d, h in enumerate(heads, start=1)]
    for a, b in arcs:
        for c, d in arcs:
            if a < c < b < d:
                return False
    return True


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
    while not config.terminal():
        legal = config.legal()
        stack = config.stack
        if legal[LEFT] and gold[stack[-2]] == stack[-1]:
            t = LEFT
        elif legal[RIGHT] and gold[stack[-1]] == stack[-2] and pending[stack[-1]] == 0:
            t = RIGHT
        elif legal[SHIFT]:
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
    """The ``(features [2n, 36], transitions [2n])`` of the oracle's parse of one sentence."""
    config, xs = Configuration(len(heads)), []
    transitions = static_oracle(heads)
    word_ids, tag_ids = [int(i) for i in word_ids], [int(i) for i in tag_ids]
    for t in transitions:
        xs.append(features(config, word_ids, tag_ids))
        config.apply(t)
    return np.array(xs, dtype=np.int32), np.array(transitions, dtype=np.int32)


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
