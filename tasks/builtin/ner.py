"""Built-in named-entity data: news-style sentences with people, organisations and places (IOB2 tags).

Sentences come from templates with typed slots ("{PER} joined {ORG} as a manager last year ."). Entities are
often several tokens long: people are "First Last", a lone first or last name, or "First Middle Last";
organisations are "North Bank Group", "Hale Media", "Ashford Steel Company"; places are "Milton",
"New Milton", "Milton Falls".

What makes it learnable: a few dozen templates, capitalised entity tokens, stable entity shapes.
What makes it not trivial:

* some names are both person names and place names ("Jordan", "Austin", "Florence", "Chester", ...): on their
  own they are a person in a person context ("according to Austin ,") and a place in a place context
  ("flights to Austin"), so the type must be read from the context;
* surnames and place names also occur inside organisation names ("Hale Media", "Ashford Steel Company") and
  words such as "North" start both places and organisations;
* the validation split uses first names, surnames, place names, organisation words and templates that never
  occur in training for about half of its entities, so memorising names is not enough.

The uncased model sees no capitals, so casing is no shortcut for it. No validation sentence occurs in
training.
"""

import random
import re

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
DEFAULT_SIZES = (1500, 300)
ENTITY_TYPES = ("PER", "ORG", "LOC")

TRAIN_FIRST = (
    "Anna", "Tom", "Maria", "David", "Sarah", "James", "Laura", "Peter", "Emma", "Daniel", "Julia", "Michael",
    "Sofia", "Mark", "Helen", "Paul", "Nina", "Robert", "Clara", "Simon",
)
EVAL_FIRST = ("Oscar", "Alice", "Victor", "Irene", "Felix", "Rachel")
TRAIN_LAST = (
    "Berg", "Hale", "Moore", "Carter", "Novak", "Fischer", "Grant", "Walsh", "Reed", "Ward", "Stone", "Burke",
    "Hayes", "Lynch", "Porter", "Mills",
)
EVAL_LAST = ("Shaw", "Doyle", "Brandt", "Keller")
# Names that are also places: used for both types, told apart by context only.
AMBIGUOUS = ("Jordan", "Austin", "Chester", "Lincoln", "Florence", "Victoria", "Sydney", "Preston", "Warren",
             "Charlotte")

TRAIN_PLACE_HEADS = ("Lorton", "Ashford", "Milton", "Bramley", "Dunmore", "Kingsley", "Harlow", "Oakridge",
                     "Redfield", "Westbrook")
EVAL_PLACE_HEADS = ("Corby", "Elmwood", "Stanton", "Wexford")
PLACE_PREFIXES = ("New", "Port", "East", "North", "Lake", "Fort")
PLACE_SUFFIXES = ("Falls", "Bay", "Springs", "Heights")

TRAIN_ORG_WORDS = ("North", "Blue", "Silver", "Global", "United", "Green", "Summit", "Pioneer", "Atlas",
                   "Harbor")
EVAL_ORG_WORDS = ("Crown", "Falcon", "Orbit", "Maple")
ORG_INDUSTRIES = ("Bank", "Foods", "Energy", "Motors", "Media", "Steel", "Paper", "Health", "Software",
                  "Airlines", "Insurance")
ORG_SUFFIXES = ("Group", "Company", "Corporation", "Partners", "Holdings", "Industries")

TRAIN_TEMPLATES = (
    "{PER} said on monday that {ORG} would hire more staff .",
    "According to {PER} , the talks in {LOC} went well .",
    "{PER} joined {ORG} as a manager last year .",
    "{PER} , a spokesman for {ORG} , declined to comment .",
    "The report was written by {PER} .",
    "{PER} met {PER} in {LOC} to discuss the deal .",
    "{PER} was born in {LOC} .",
    "Shares of {ORG} rose after {PER} resigned .",
    "{ORG} announced that {PER} will lead its office in {LOC} .",
    "Police in {LOC} are looking for {PER} .",
    "Heavy rain hit {LOC} on tuesday .",
    "{ORG} reported higher profits this year .",
    "The mayor of {LOC} thanked {PER} for the work .",
    "{PER} moved from {LOC} to {LOC} in may .",
    "{ORG} and {ORG} signed a deal in {LOC} .",
    "Thousands of tourists visit {LOC} every summer .",
    "{PER} is the new chief executive of {ORG} .",
    "The new bridge near {LOC} was opened by {PER} .",
    "Workers at {ORG} in {LOC} went on strike .",
    "{PER} won the race in {LOC} on sunday .",
    "{ORG} bought a small firm from {LOC} .",
    "Yesterday {PER} called {PER} about the plan .",
)
EVAL_TEMPLATES = (
    "{PER} told reporters in {LOC} that {ORG} is doing well .",
    "Flights to {LOC} were cancelled on friday .",
    "{ORG} hired {PER} to run its new plant .",
    "Residents of {LOC} welcomed the decision by {ORG} .",
    "A statement from {PER} was read out in {LOC} .",
)
_SLOT = re.compile(r"\{(PER|ORG|LOC)\}")


def _pools(eval_split: bool) -> dict[str, tuple[str, ...]]:
    """Name material for one entity: the held-out pools in the validation split, half of the time."""
    if eval_split:
        return {"first": EVAL_FIRST, "last": EVAL_LAST, "place": EVAL_PLACE_HEADS, "org": EVAL_ORG_WORDS}
    return {"first": TRAIN_FIRST, "last": TRAIN_LAST, "place": TRAIN_PLACE_HEADS, "org": TRAIN_ORG_WORDS}


def _person(rng: random.Random, pools: dict) -> list[str]:
    first = rng.choice(AMBIGUOUS) if rng.random() < 0.25 else rng.choice(pools["first"])
    shape = rng.random()
    if shape < 0.6:
        return [first, rng.choice(pools["last"])]
    if shape < 0.75:
        return [first]
    if shape < 0.9:
        return [rng.choice(pools["last"])]
    return [first, rng.choice(AMBIGUOUS + pools["first"]), rng.choice(pools["last"])]


def _place(rng: random.Random, pools: dict) -> list[str]:
    head = rng.choice(AMBIGUOUS) if rng.random() < 0.3 else rng.choice(pools["place"])
    shape = rng.random()
    if shape < 0.5:
        return [head]
    if shape < 0.8:
        return [rng.choice(PLACE_PREFIXES), head]
    return [head, rng.choice(PLACE_SUFFIXES)]


def _organisation(rng: random.Random, pools: dict) -> list[str]:
    shape = rng.random()
    if shape < 0.4:
        return [rng.choice(pools["org"]), rng.choice(ORG_INDUSTRIES), rng.choice(ORG_SUFFIXES)]
    if shape < 0.6:
        return [rng.choice(pools["last"]), rng.choice(ORG_INDUSTRIES)]
    if shape < 0.8:
        return [rng.choice(pools["place"]), rng.choice(ORG_INDUSTRIES), rng.choice(ORG_SUFFIXES)]
    return [rng.choice(pools["org"]), rng.choice(ORG_SUFFIXES)]


_MAKERS = {"PER": _person, "ORG": _organisation, "LOC": _place}


def _sentence(rng: random.Random, eval_split: bool) -> tuple[list[str], list[str]]:
    templates = TRAIN_TEMPLATES
    if eval_split and rng.random() < 0.3:
        templates = EVAL_TEMPLATES
    template = rng.choice(templates)
    tokens: list[str] = []
    tags: list[str] = []
    used: list[list[str]] = []
    position = 0
    for match in _SLOT.finditer(template):
        words = template[position:match.start()].split()
        tokens += words
        tags += ["O"] * len(words)
        entity_type = match.group(1)
        entity = _MAKERS[entity_type](rng, _pools(eval_split and rng.random() < 0.5))
        while entity in used:  # two slots of one sentence never name the same entity
            entity = _MAKERS[entity_type](rng, _pools(eval_split and rng.random() < 0.5))
        used.append(entity)
        tokens += entity
        tags += [f"B-{entity_type}"] + [f"I-{entity_type}"] * (len(entity) - 1)
        position = match.end()
    words = template[position:].split()
    tokens += words
    tags += ["O"] * len(words)
    return tokens, tags


def _split(rng: random.Random, size: int, eval_split: bool, taken: set[tuple[str, ...]]) -> list[dict]:
    rows: list[dict] = []
    attempts = 0
    while len(rows) < size:
        attempts += 1
        if attempts > 50 * size + 1000:
            raise ValueError(f"cannot generate {size} distinct NER sentences")
        tokens, tags = _sentence(rng, eval_split)
        if tuple(tokens) in taken:
            continue
        taken.add(tuple(tokens))
        rows.append({"tokens": tokens, "ner_tags": tags})
    return rows


def generate(n_train: int, n_eval: int, seed: int = 0) -> dict[str, list[dict]]:
    """Generate ``n_train`` training and ``n_eval`` validation sentences, deterministically from ``seed``.

    Rows are ``{"tokens": list[str], "ner_tags": list[str]}``, tags in IOB2 from ``LABELS``.
    """
    rng = random.Random(f"reusebench-ner-{seed}")
    taken: set[tuple[str, ...]] = set()
    train = _split(rng, n_train, False, taken)
    validation = _split(rng, n_eval, True, taken)
    return {"train": train, "validation": validation}
