"""Built-in sentence-similarity data: pairs of scene descriptions scored from 0 to 5.

A scene has four slots: who ("a chef"), action ("slicing"), object ("an onion") and place ("in the kitchen").
The second sentence of a pair describes the same scene with some slots changed. The score is

    5 - 1.25 * [who changed] - 1.25 * [action changed] - 1.5 * [object changed] - 1.0 * [place changed]

plus a tiny deterministic jitter (at most 0.1 either way), clipped to [0, 5] and rounded to two decimals.
Meaning-preserving rewrites never cost anything: a slot may be realised by a synonym ("a man" / "a guy",
"cutting" / "slicing", "a bike" / "a bicycle") and each sentence picks its own frame ("in the park , a man is
...", "there is a man ... in the park").

What makes it learnable: a closed vocabulary, one fixed scene structure, an additive score.
What makes it not trivial: word overlap is a poor guide (synonyms and frames lower the overlap of identical
scenes; a changed slot keeps every other word), and the slots weigh differently.

The number of changed slots is drawn uniformly from 0 to 4, so scores spread over the whole range.
Validation pairs are built around held-out material for about two thirds of them: who-groups, places and a
frame that never occur in training; no validation pair occurs in training.
"""

import random

DEFAULT_SIZES = (2000, 400)

PENALTIES = {"who": 1.25, "action": 1.25, "object": 1.5, "place": 1.0}
JITTER = 0.1

# Each inner tuple is one meaning: its members are interchangeable.
TRAIN_WHO = (
    ("a man", "a guy"),
    ("a woman", "a lady"),
    ("a boy", "a young boy"),
    ("a girl", "a little girl"),
    ("a child", "a kid"),
    ("a chef", "a cook"),
    ("a doctor", "a physician"),
    ("a student", "a pupil"),
    ("an old man", "an elderly man"),
    ("a teenager", "a teen"),
    ("a police officer", "a policeman"),
)
EVAL_WHO = (("a nurse",), ("a musician", "a performer"), ("a farmer",))

# Object categories, each with the actions that fit them; changed actions and objects stay within a category
# unless both change, so every sentence makes sense.
CATEGORIES: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "food": {
        "actions": (("eating",), ("cutting", "slicing"), ("cooking", "preparing"), ("sharing",),
                    ("buying", "purchasing")),
        "objects": (("an apple",), ("a sandwich",), ("a cake",), ("a pizza",), ("a carrot",), ("an onion",),
                    ("a potato",)),
    },
    "vehicle": {
        "actions": (("fixing", "repairing"), ("washing", "cleaning"), ("painting",), ("pushing",),
                    ("selling",)),
        "objects": (("a bike", "a bicycle"), ("a car",), ("a motorcycle",), ("a boat",),
                    ("a truck",)),
    },
    "instrument": {
        "actions": (("playing",), ("tuning",), ("carrying",), ("cleaning", "wiping")),
        "objects": (("a guitar",), ("a piano",), ("a violin",), ("a drum",), ("a flute",)),
    },
    "ball": {
        "actions": (("kicking",), ("throwing", "tossing"), ("catching",), ("bouncing",)),
        "objects": (("a ball",), ("a football", "a soccer ball"), ("a basketball",), ("a tennis ball",)),
    },
    "reading": {
        "actions": (("reading",), ("holding",), ("carrying",), ("opening",)),
        "objects": (("a book",), ("a newspaper", "a paper"), ("a letter",), ("a magazine",), ("a map",)),
    },
}
CATEGORY_NAMES = tuple(CATEGORIES)

TRAIN_PLACES = (
    ("in the park",),
    ("on the beach", "on the shore"),
    ("in the street", "on the road"),
    ("in the kitchen",),
    ("in the garden", "in the yard"),
    ("in a field", "in a meadow"),
    ("in the forest", "in the woods"),
    ("at the office",),
    ("in a classroom",),
    ("at the market",),
    ("in the snow",),
)
EVAL_PLACES = (("by the river", "near the river"), ("on a stage",), ("at the station",))

TRAIN_FRAMES = (
    "{who} is {action} {object} {place} .",
    "{place} , {who} is {action} {object} .",
    "there is {who} {action} {object} {place} .",
    "{who} is {place} , {action} {object} .",
    "in this picture , {who} is {action} {object} {place} .",
)
EVAL_FRAMES = ("{who} can be seen {action} {object} {place} .",)

SLOTS = ("who", "action", "object", "place")


def _scene(rng: random.Random, who_pool: tuple, place_pool: tuple) -> dict:
    """A scene as slot -> meaning (a tuple of synonyms), plus its object category."""
    category = rng.choice(CATEGORY_NAMES)
    return {
        "category": category,
        "who": rng.choice(who_pool),
        "action": rng.choice(CATEGORIES[category]["actions"]),
        "object": rng.choice(CATEGORIES[category]["objects"]),
        "place": rng.choice(place_pool),
    }


def _other(rng: random.Random, pool: tuple, current: tuple) -> tuple:
    return rng.choice([meaning for meaning in pool if meaning != current])


def _changed(rng: random.Random, scene: dict, slots: list[str], who_pool: tuple, place_pool: tuple) -> dict:
    new = dict(scene)
    if "who" in slots:
        new["who"] = _other(rng, who_pool, scene["who"])
    if "place" in slots:
        new["place"] = _other(rng, place_pool, scene["place"])
    if "action" in slots and "object" in slots and rng.random() < 0.5:
        new["category"] = rng.choice([name for name in CATEGORY_NAMES if name != scene["category"]])
        new["action"] = rng.choice(CATEGORIES[new["category"]]["actions"])
        new["object"] = rng.choice(CATEGORIES[new["category"]]["objects"])
        return new
    for slot, key in (("action", "actions"), ("object", "objects")):
        if slot in slots:
            new[slot] = _other(rng, CATEGORIES[scene["category"]][key], scene[slot])
    return new


def _sentence(rng: random.Random, scene: dict, frames: tuple[str, ...]) -> str:
    return rng.choice(frames).format(**{slot: rng.choice(scene[slot]) for slot in SLOTS})


def score(changed_slots: list[str], jitter: float = 0.0) -> float:
    """The similarity score of a pair whose scenes differ in ``changed_slots``."""
    value = 5.0 - sum(PENALTIES[slot] for slot in changed_slots) + jitter
    return round(min(5.0, max(0.0, value)), 2)


def _pair(rng: random.Random, eval_split: bool) -> dict:
    held_out = eval_split and rng.random() < 0.67
    who_pool, place_pool, frames = TRAIN_WHO, TRAIN_PLACES, TRAIN_FRAMES
    if held_out:
        who_pool, place_pool = TRAIN_WHO + EVAL_WHO, TRAIN_PLACES + EVAL_PLACES
        frames = TRAIN_FRAMES + EVAL_FRAMES
    first = _scene(rng, who_pool, place_pool)
    if held_out:
        # Make sure the pair really touches held-out material.
        kind = rng.choice(("who", "place", "frame"))
        if kind == "who":
            first["who"] = rng.choice(EVAL_WHO)
        elif kind == "place":
            first["place"] = rng.choice(EVAL_PLACES)
        else:
            frames = EVAL_FRAMES
    count = rng.randint(0, len(SLOTS))
    changed = sorted(rng.sample(SLOTS, count), key=SLOTS.index)
    second = _changed(rng, first, changed, who_pool, place_pool)
    sentences = [_sentence(rng, first, frames), _sentence(rng, second, frames)]
    rng.shuffle(sentences)
    jitter = rng.uniform(-JITTER, JITTER)
    return {"sentence1": sentences[0], "sentence2": sentences[1], "label": score(changed, jitter)}


def _split(rng: random.Random, size: int, eval_split: bool, taken: set[tuple[str, str]]) -> list[dict]:
    rows: list[dict] = []
    attempts = 0
    while len(rows) < size:
        attempts += 1
        if attempts > 50 * size + 1000:
            raise ValueError(f"cannot generate {size} distinct similarity pairs")
        row = _pair(rng, eval_split)
        key = (row["sentence1"], row["sentence2"])
        # A pair and its mirror image are the same input for a symmetric task.
        if key in taken or key[::-1] in taken:
            continue
        taken.add(key)
        rows.append(row)
    return rows


def generate(n_train: int, n_eval: int, seed: int = 0) -> dict[str, list[dict]]:
    """Generate ``n_train`` training and ``n_eval`` validation pairs, deterministically from ``seed``.

    Rows are ``{"sentence1": str, "sentence2": str, "label": float}`` with ``label`` in [0, 5].
    """
    rng = random.Random(f"reusebench-similarity-{seed}")
    taken: set[tuple[str, str]] = set()
    train = _split(rng, n_train, False, taken)
    validation = _split(rng, n_eval, True, taken)
    return {"train": train, "validation": validation}
