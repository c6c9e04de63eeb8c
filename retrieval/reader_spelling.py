"""Spelling repaired before a request is read: two known words typed as one ("blackformal"), and a
typo in one word of a two-word kind ("casul shoes", "salwar suite"). Pure functions over normalised
text and the reader's table of phrases."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from retrieval.reader_words import may_be_typo


def unglue(text: str, known) -> str:
    """Two ``known`` words typed without the space between them ("blackformal" -> "black formal")."""
    out = []
    for word in text.split():
        if len(word) >= 7 and word not in known and not word.isdigit():
            for i in range(3, len(word) - 2):
                if word[:i] in known and word[i:] in known:
                    word = f"{word[:i]} {word[i:]}"
                    break
        out.append(word)
    return " ".join(out)


class TwoWordKinds:
    """The kinds named in two words ("casual shoes", "salwar suit"), to correct a typo in either word."""

    def __init__(self, kinds, known, dictionary, cutoff: float):
        self.known, self.dictionary, self.cutoff = known, dictionary, cutoff
        self.modifiers: dict[str, dict[str, str]] = {}  # head word -> {"casual": "casualshoes", ...}
        self.heads: dict[str, set[str]] = {}  # first word -> {"suit", "suits", ...}
        for phrase in kinds:
            if len(words := phrase.split()) == 2:
                self.modifiers.setdefault(words[1], {})[words[0]] = phrase.replace(" ", "")
                self.heads.setdefault(words[0], set()).add(words[1])

    def fix(self, text: str) -> str:
        """A typo in the word before a kind's head word ("casul shoes", "lapto bag"): the head alone reads
        as every kind of shoe or bag, so the pair is matched against the two-word kinds with that head and
        the word corrected. Words the table or the dictionary knows stay ("brown shoes", "nice bag").
        A typo in the head after a kind's first word is corrected too, even to a dictionary word ("salwar
        suite": a salwar suit), as long as it is near one of the heads that first word takes and names no
        kind itself ("sports shorts" stay shorts)."""
        words = text.split()
        for i, (word, head) in enumerate(zip(words, words[1:])):
            if word in self.heads and head not in self.heads[word] and head not in self.known \
                    and may_be_typo(head) and head.isalpha() \
                    and (found := process.extractOne(head, self.heads[word], scorer=fuzz.ratio,
                                                     score_cutoff=self.cutoff)) and found[0][0] == head[0]:
                words[i + 1] = head = found[0]
            if head not in self.modifiers or not may_be_typo(word) or word in self.known \
                    or word in self.dictionary or not word.isalpha():
                continue
            found = process.extractOne(word + head, self.modifiers[head], scorer=fuzz.ratio, score_cutoff=self.cutoff)
            if found is not None and found[2][0] == word[0]:
                words[i] = found[2]
        return " ".join(words)
