"""A small analogy list for corpora the size of Brown (about a million words).

Mikolov et al.'s ``questions-words.txt`` is built for billion-word corpora: most of its capitals
and currencies occur a handful of times in Brown. These questions use words that are frequent
in Brown, in the same form ``a : b :: c : d`` and in five of Mikolov et al.'s categories
(family/gender, plural nouns, past tense, comparatives, opposites of pronouns). Every ordered
pair of two relations in a category makes one question, as in the original list.

Reference: Mikolov, Chen, Corrado & Dean, "Efficient Estimation of Word Representations in
Vector Space", 2013 (the semantic-syntactic word relationship test set).
"""

from __future__ import annotations

from itertools import permutations

#: Word pairs per relation, each pair ``(x, y)`` standing in the same relation.
RELATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "gender": (
        ("man", "woman"),
        ("men", "women"),
        ("he", "she"),
        ("his", "her"),
        ("boy", "girl"),
        ("father", "mother"),
        ("son", "daughter"),
        ("brother", "sister"),
        ("husband", "wife"),
        ("king", "queen"),
        ("mr.", "mrs."),
    ),
    "plural": (
        ("man", "men"),
        ("child", "children"),
        ("year", "years"),
        ("day", "days"),
        ("house", "houses"),
        ("eye", "eyes"),
        ("hand", "hands"),
        ("woman", "women"),
        ("thing", "things"),
        ("school", "schools"),
        ("state", "states"),
        ("car", "cars"),
    ),
    "past_tense": (
        ("go", "went"),
        ("see", "saw"),
        ("take", "took"),
        ("come", "came"),
        ("know", "knew"),
        ("give", "gave"),
        ("think", "thought"),
        ("find", "found"),
        ("tell", "told"),
        ("say", "said"),
        ("make", "made"),
        ("get", "got"),
    ),
    "comparative": (
        ("good", "better"),
        ("large", "larger"),
        ("small", "smaller"),
        ("great", "greater"),
        ("high", "higher"),
        ("long", "longer"),
        ("old", "older"),
        ("young", "younger"),
        ("low", "lower"),
        ("strong", "stronger"),
    ),
    "pronoun_case": (
        ("he", "him"),
        ("she", "her"),
        ("they", "them"),
        ("we", "us"),
        ("i", "me"),
    ),
}


def questions(relations: dict[str, tuple[tuple[str, str], ...]] = RELATIONS):
    """Every ``(a, b, c, d)`` with ``(a, b)`` and ``(c, d)`` two different pairs of a category
    and four distinct words."""
    out = []
    for pairs in relations.values():
        for (a, b), (c, d) in permutations(pairs, 2):
            if len({a, b, c, d}) == 4:
                out.append((a, b, c, d))
    return tuple(out)


#: The analogy questions, ``a : b :: c : d`` (the answer is ``d``).
ANALOGIES: tuple[tuple[str, str, str, str], ...] = questions()
