"""Built-in sentiment data: review sentences whose polarity follows from their structure.

Each review is made of one or two *evaluative clauses*
``<aspect> <is|was> [negator] [intensifier] <adjective>`` ("the battery was not very reliable"), optional
neutral openers ("honestly ,") and optional filler sentences, some of which contain polar words that say
nothing about the item ("a friend with great taste suggested it .").

The label follows from these rules, and only from them (``rule_label`` re-derives it from the text):

* a clause's polarity is its adjective's polarity, flipped by a negator ("not", "never", "hardly");
  intensifiers ("very", "extremely", "slightly", ...) never change it;
* a frame around a clause flips it ("it is not true that", "i would not say that", "i doubt that", ...) or
  keeps it ("i can not deny that", "there is no doubt that", ...);
* in "A but B" and "A . however , B" the clause after the connective decides;
* in "although A , B" and "B , although A" the clause *not* introduced by "although" decides;
* in "A and B" both clauses have the same polarity;
* openers and filler sentences never count.

What makes it learnable: a small closed vocabulary, a handful of constructions that a pretrained encoder
already half-understands (negation, concession), short sentences (under 40 word-pieces).
What makes it not trivial: every adjective, negator and frame word appears in both classes, the two clauses
of a contrast draw from the same vocabulary (so word counts cannot tell which one wins), and the deciding
clause is usually the second one but not always ("B , although A"). A bag-of-words logistic regression is at
chance level (about 0.5 on the default sizes, see ``tests/test_builtin_data.py``); a fine-tuned MiniLM gets
above 0.9 after one epoch.

Labels are exactly balanced (up to one example when a size is odd). The validation split uses aspects that
never occur in training ("the remote", "the costumes", ...) for about half of its clauses, and no validation
text occurs in training.
"""

import random

LABELS = ["negative", "positive"]
DEFAULT_SIZES = (2000, 500)

POSITIVE_ADJECTIVES = (
    "good", "great", "excellent", "wonderful", "superb", "impressive", "lovely", "decent", "brilliant",
    "fantastic", "pleasant", "reliable",
)
NEGATIVE_ADJECTIVES = (
    "bad", "poor", "terrible", "awful", "horrible", "disappointing", "weak", "dull", "dreadful",
    "annoying", "boring", "unreliable",
)
NEGATORS = ("not", "never", "hardly")
INTENSIFIERS = ("very", "extremely", "slightly", "quite", "really", "rather", "pretty", "truly")
# After "not" / "never" only these read naturally ("not very good", never "not slightly good").
NEGATED_INTENSIFIERS = ("very", "really", "particularly")
COPULAS = ("is", "was")
# Frames embed a clause: the first group flips its polarity, the second keeps it (though "not" and "doubt"
# occur in both groups, so neither word decides on its own).
FLIPPING_FRAMES = ("it is not true that", "i would not say that", "i doubt that", "nobody would claim that")
KEEPING_FRAMES = ("i can not deny that", "there is no doubt that", "i must admit that",
                  "everyone agrees that")

TRAIN_ASPECTS = (
    "the plot", "the acting", "the ending", "the soundtrack", "the dialogue", "the script", "the pacing",
    "the story", "the battery", "the screen", "the price", "the design", "the keyboard", "the sound",
    "the camera", "the delivery", "the packaging", "the customer service", "the software",
    "the build quality",
    "this movie", "this phone", "the film", "this product", "the whole thing", "the overall experience",
)
EVAL_ASPECTS = ("the sequel", "the speaker", "the remote", "the costumes", "the lighting", "the manual")

OPENERS = ("honestly ,", "overall ,", "in my opinion ,", "to be fair ,", "after a week ,", "so ,")
# Filler sentences never decide the label; the second group holds polar words on purpose.
NEUTRAL_FILLERS = (
    "i bought it last month .",
    "we watched it on a sunday .",
    "it arrived on tuesday .",
    "my brother uses one too .",
    "i have had it for two weeks .",
    "we saw it at the local cinema .",
)
POLAR_FILLERS = (
    "a friend with great taste suggested it .",
    "i ordered it after a terrible week at work .",
    "the weather outside was awful .",
    "we had a wonderful dinner before the show .",
    "my old one broke in a horrible accident .",
    "the shop assistant was lovely .",
)
FILLERS = NEUTRAL_FILLERS + POLAR_FILLERS

# (structure, weight): how often each construction is drawn.
_STRUCTURES = (
    ("single", 35),
    ("but", 25),
    ("however", 8),
    ("although_first", 8),
    ("although_last", 8),
    ("and", 16),
)
_NEGATION_RATE_SINGLE = 0.5
_NEGATION_RATE_PAIR = 0.35
_FRAME_RATE_SINGLE = 0.35
_FRAME_RATE_PAIR = 0.25


def _clause(rng: random.Random, aspect: str, polarity: int, negation_rate: float) -> str:
    """One evaluative clause about ``aspect`` whose effective polarity is ``polarity`` (+1 or -1)."""
    negated = rng.random() < negation_rate
    adjective_polarity = -polarity if negated else polarity
    adjective = rng.choice(POSITIVE_ADJECTIVES if adjective_polarity > 0 else NEGATIVE_ADJECTIVES)
    words = [aspect, rng.choice(COPULAS)]
    if negated:
        negator = rng.choice(NEGATORS)
        words.append(negator)
        if negator != "hardly" and rng.random() < 0.4:
            words.append(rng.choice(NEGATED_INTENSIFIERS))
    elif rng.random() < 0.6:
        words.append(rng.choice(INTENSIFIERS))
    words.append(adjective)
    return " ".join(words)


def _framed_clause(
    rng: random.Random, aspect: str, polarity: int, frame_rate: float, negation_rate: float
) -> str:
    """A clause of effective polarity ``polarity``, embedded with probability ``frame_rate`` in a frame."""
    if rng.random() >= frame_rate:
        return _clause(rng, aspect, polarity, negation_rate)
    if rng.random() < 0.5:
        return f"{rng.choice(FLIPPING_FRAMES)} {_clause(rng, aspect, -polarity, negation_rate)}"
    return f"{rng.choice(KEEPING_FRAMES)} {_clause(rng, aspect, polarity, negation_rate)}"


def _pick_aspects(rng: random.Random, count: int, eval_split: bool) -> list[str]:
    aspects: list[str] = []
    while len(aspects) < count:
        pool = EVAL_ASPECTS if eval_split and rng.random() < 0.5 else TRAIN_ASPECTS
        aspect = rng.choice(pool)
        if aspect not in aspects:
            aspects.append(aspect)
    return aspects


def _review(rng: random.Random, polarity: int, eval_split: bool) -> str:
    """A review whose label, by the module's rules, is ``polarity`` (+1 positive, -1 negative)."""
    names = [name for name, _ in _STRUCTURES]
    structure = rng.choices(names, weights=[weight for _, weight in _STRUCTURES])[0]
    first, second = _pick_aspects(rng, 2, eval_split)
    rate = _NEGATION_RATE_PAIR
    if structure == "single":
        body = _framed_clause(rng, first, polarity, _FRAME_RATE_SINGLE, _NEGATION_RATE_SINGLE)
    elif structure == "but":
        deciding = _framed_clause(rng, second, polarity, _FRAME_RATE_PAIR, rate)
        body = f"{_clause(rng, first, -polarity, rate)} but {deciding}"
    elif structure == "however":
        deciding = _framed_clause(rng, second, polarity, _FRAME_RATE_PAIR, rate)
        body = f"{_clause(rng, first, -polarity, rate)} . however , {deciding}"
    elif structure == "although_first":
        body = f"although {_clause(rng, first, -polarity, rate)} , {_clause(rng, second, polarity, rate)}"
    elif structure == "although_last":
        body = f"{_clause(rng, first, polarity, rate)} , although {_clause(rng, second, -polarity, rate)}"
    else:
        body = f"{_clause(rng, first, polarity, rate)} and {_clause(rng, second, polarity, rate)}"
    if rng.random() < 0.3:
        body = f"{rng.choice(OPENERS)} {body}"
    sentences = [f"{body} ."]
    if rng.random() < 0.35:
        filler = rng.choice(FILLERS)
        if rng.random() < 0.5:
            sentences.insert(0, filler)
        else:
            sentences.append(filler)
    return " ".join(sentences)


def _clause_polarity(clause: str) -> int:
    for frame in FLIPPING_FRAMES + KEEPING_FRAMES:
        if clause.startswith(frame + " "):
            inner = _clause_polarity(clause[len(frame) + 1:])
            return -inner if frame in FLIPPING_FRAMES else inner
    words = clause.split()
    adjectives = [word for word in words if word in POSITIVE_ADJECTIVES or word in NEGATIVE_ADJECTIVES]
    if len(adjectives) != 1:
        raise ValueError(f"expected one adjective in clause {clause!r}")
    polarity = 1 if adjectives[0] in POSITIVE_ADJECTIVES else -1
    return -polarity if any(word in NEGATORS for word in words) else polarity


def rule_label(text: str) -> int:
    """Re-derive a generated review's label (0 negative, 1 positive) from the documented rules alone."""
    for filler in FILLERS:
        text = text.replace(filler, " ")
    text = " ".join(text.split())
    for opener in OPENERS:
        if text.startswith(opener + " "):
            text = text[len(opener) + 1:]
            break
    text = text.removesuffix(" .")
    if " , although " in text:
        deciding = text.split(" , although ")[0]
    elif text.startswith("although "):
        deciding = text.split(" , ", 1)[1]
    elif " but " in text:
        deciding = text.split(" but ")[1]
    elif " . however , " in text:
        deciding = text.split(" . however , ")[1]
    elif " and " in text:
        first, deciding = text.split(" and ")
        if _clause_polarity(first) != _clause_polarity(deciding):
            raise ValueError(f"'and' joins clauses of different polarity: {text!r}")
    else:
        deciding = text
    return 1 if _clause_polarity(deciding) > 0 else 0


def _split(rng: random.Random, size: int, eval_split: bool, taken: set[str]) -> list[dict]:
    rows: list[dict] = []
    attempts = 0
    while len(rows) < size:
        attempts += 1
        if attempts > 50 * size + 1000:
            raise ValueError(f"cannot generate {size} distinct sentiment examples")
        label = len(rows) % 2  # alternate labels: exact balance
        text = _review(rng, 1 if label else -1, eval_split)
        if text in taken:
            continue
        taken.add(text)
        rows.append({"text": text, "label": label})
    rng.shuffle(rows)
    return rows


def generate(n_train: int, n_eval: int, seed: int = 0) -> dict[str, list[dict]]:
    """Generate ``n_train`` training and ``n_eval`` validation reviews, deterministically from ``seed``.

    Rows are ``{"text": str, "label": int}`` with ``label`` indexing ``LABELS``.
    """
    rng = random.Random(f"reusebench-sentiment-{seed}")
    taken: set[str] = set()
    train = _split(rng, n_train, False, taken)
    validation = _split(rng, n_eval, True, taken)
    return {"train": train, "validation": validation}
