"""Built-in extractive question answering (SQuAD format): short invented biographies and questions on them.

A paragraph holds 3 to 5 fact sentences about two invented people, an organisation one of them founded and the
places they lived in ("Mara Holt was born in Ashford in 1962 .", "By 1990 , Holt Paper had 45 employees .").
A question asks for one slot of one fact: who (a person), where (a place), when (a year) or how many (a
number). The answer is always a span of the context, and ``answer_start`` points at the occurrence inside the
fact asked about.

What makes it learnable: a dozen sentence templates, question words that name the answer type, answers copied
verbatim from the context, contexts under about 120 word-pieces.
What makes it not trivial: every paragraph holds at least one *other* value of the answer's type (another
person, year, place or number; checked when generating), so the model has to match the question's entity and
relation against the right sentence instead of picking the first year or place it sees. Years, places and
numbers are distinct within a paragraph, so each answer text occurs once (people may recur).

The validation split draws people, places and organisations from held-out name lists for about half of its
paragraphs and asks some questions in wordings never used in training; no (context, question) pair occurs in
training.
"""

import random
import re

DEFAULT_SIZES = (1200, 250)

TRAIN_FIRST = ("Mara", "Owen", "Lena", "Hugo", "Ida", "Jonas", "Vera", "Emil", "Nora", "Axel", "Greta",
               "Felix", "Rosa", "Anton", "Elsa", "Carl")
EVAL_FIRST = ("Tilda", "Oskar", "Lotte", "Bruno")
TRAIN_LAST = ("Holt", "Brenner", "Lund", "Marsh", "Falk", "Weller", "Dahl", "Crane", "Voss", "Pike", "Sutton",
              "Ames")
EVAL_LAST = ("Quill", "Barrow", "Finch")
TRAIN_PLACES = ("Ashford", "Denmore", "Port Ellis", "Bramley", "Kingsford", "Lake Harlow", "Oakham",
                "Redfield", "Westbury", "New Milton", "Dunmore", "Fairview", "Eastwick", "Stonebridge")
EVAL_PLACES = ("Corby", "Elmwood", "North Stanton", "Wexford", "Glenrock")
INDUSTRIES = ("Paper", "Steel", "Foods", "Motors", "Glass", "Textiles", "Shipping", "Printing")
TOPICS = ("birds", "trains", "gardens", "history", "music", "rivers", "bridges", "cooking")

# Facts: template, then for each question slot the question templates (train, eval-only).
FACTS: dict[str, dict] = {
    "born": {
        "text": "{person} was born in {place} in {year} .",
        "questions": {
            "place": (("Where was {person} born ?", "In which town was {person} born ?"),
                      ("What is the birthplace of {person} ?",)),
            "year": (("When was {person} born ?", "In which year was {person} born ?"),
                     ("What year was {person} born in ?",)),
        },
    },
    "moved": {
        "text": "In {year} , {person} moved to {place} .",
        "questions": {
            "place": (("Where did {person} move to ?", "To which town did {person} move ?"),
                      ("Which town did {person} move to ?",)),
            "year": (("When did {person} move to {place} ?", "In which year did {person} move to {place} ?"),
                     ("What year did {person} move to {place} ?",)),
        },
    },
    "founded": {
        "text": "{person} founded {org} in {place} in {year} .",
        "questions": {
            "person": (("Who founded {org} ?", "Who was the founder of {org} ?"),
                       ("Which person started {org} ?",)),
            "year": (("When was {org} founded ?", "In which year did {person} found {org} ?"),
                     ("What year was {org} started ?",)),
            "place": (("Where was {org} founded ?", "In which town did {person} found {org} ?"),
                      ("Where did {person} start {org} ?",)),
        },
    },
    "employees": {
        "text": "By {year} , {org} had {number} employees .",
        "questions": {
            "number": (("How many employees did {org} have by {year} ?",
                        "How many people worked for {org} ?"),
                       ("What was the number of employees of {org} ?",)),
        },
    },
    "books": {
        "text": "{person} wrote {number} books about {topic} .",
        "questions": {
            "number": (("How many books did {person} write ?",
                        "How many books about {topic} did {person} write ?"),
                       ("What number of books did {person} write ?",)),
            "person": (("Who wrote books about {topic} ?", "Who wrote {number} books about {topic} ?"),
                       ("Which person wrote books about {topic} ?",)),
        },
    },
    "married": {
        "text": "{person} married {other} in {year} .",
        "questions": {
            "other": (("Who did {person} marry ?", "Whom did {person} marry in {year} ?"),
                      ("Who became the spouse of {person} ?",)),
            "year": (("When did {person} marry {other} ?", "In which year did {person} marry {other} ?"),
                     ("What year did {person} marry {other} ?",)),
        },
    },
    "bridges": {
        "text": "The town of {place} has {number} bridges .",
        "questions": {
            "number": (("How many bridges does {place} have ?", "How many bridges are there in {place} ?"),
                       ("What is the number of bridges in {place} ?",)),
        },
    },
}
# The type of each slot, for the "another value of the answer's type" check.
SLOT_TYPES = {"person": "person", "other": "person", "place": "place", "year": "year", "number": "number",
              "org": "org", "topic": "topic"}
_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, values: dict[str, str]) -> tuple[str, dict[str, int]]:
    """Fill ``template`` and return the text and the character offset of each slot in it."""
    parts: list[str] = []
    offsets: dict[str, int] = {}
    length = 0
    position = 0
    for match in _SLOT.finditer(template):
        literal = template[position:match.start()]
        parts.append(literal)
        length += len(literal)
        offsets[match.group(1)] = length
        value = values[match.group(1)]
        parts.append(value)
        length += len(value)
        position = match.end()
    parts.append(template[position:])
    return "".join(parts), offsets


def _cast(rng: random.Random, held_out: bool) -> dict:
    """The invented world of a paragraph: two people, an organisation, distinct places, years and numbers."""
    first_pool = EVAL_FIRST + TRAIN_FIRST if held_out else TRAIN_FIRST
    last_pool = EVAL_LAST if held_out else TRAIN_LAST
    place_pool = EVAL_PLACES + TRAIN_PLACES[:4] if held_out else TRAIN_PLACES
    firsts = rng.sample(first_pool, 2)
    lasts = [rng.choice(last_pool), rng.choice(last_pool)]  # shared surnames make good distractors
    people = [f"{first} {last}" for first, last in zip(firsts, lasts, strict=True)]
    founder = rng.randrange(2)
    return {
        "people": people,
        "founder": founder,
        "org": f"{lasts[founder]} {rng.choice(INDUSTRIES)}",
        "places": rng.sample(place_pool, 6),
        # Births come before every other event, so that timelines stay plausible.
        "birth_years": [str(year) for year in rng.sample(range(1900, 1950), 2)],
        "years": [str(year) for year in rng.sample(range(1950, 2000), 5)],
        "numbers": [str(number) for number in rng.sample(range(3, 100), 4)],
        "topic": rng.choice(TOPICS),
    }


def _candidate_facts(cast: dict) -> list[tuple[str, dict[str, str]]]:
    """Every fact that can be told about ``cast``; values are assigned when the paragraph is drawn."""
    first, second = cast["people"]
    founder = cast["people"][cast["founder"]]
    author = cast["people"][1 - cast["founder"]]  # the other person: keeps the two roles apart
    return [
        ("born", {"person": first}),
        ("born", {"person": second}),
        ("moved", {"person": first}),
        ("moved", {"person": second}),
        ("founded", {"person": founder, "org": cast["org"]}),
        ("employees", {"org": cast["org"]}),
        ("books", {"person": author, "topic": cast["topic"]}),
        ("married", {"person": first, "other": second}),
        ("bridges", {}),
    ]


def _paragraph(rng: random.Random, held_out: bool) -> tuple[list[tuple[str, dict[str, str]]], dict] | None:
    cast = _cast(rng, held_out)
    facts = rng.sample(_candidate_facts(cast), rng.randint(3, 5))
    places, years, numbers = list(cast["places"]), list(cast["years"]), list(cast["numbers"])
    birth_years = list(cast["birth_years"])
    for name, values in facts:
        for slot in _SLOT.findall(FACTS[name]["text"]):
            if slot == "place":
                values["place"] = places.pop()
            elif slot == "year":
                values["year"] = birth_years.pop() if name == "born" else years.pop()
            elif slot == "number":
                values["number"] = numbers.pop()
    # Married people are told apart from siblings: a pair sharing a surname never marries here.
    for name, values in facts:
        if name == "married" and values["person"].split()[-1] == values["other"].split()[-1]:
            return None
    return facts, cast


def _example(rng: random.Random, held_out: bool, eval_wording: bool) -> dict | None:
    drawn = _paragraph(rng, held_out)
    if drawn is None:
        return None
    facts, cast = drawn
    sentences: list[str] = []
    starts: list[dict[str, int]] = []
    offset = 0
    for name, values in facts:
        text, slot_offsets = fill(FACTS[name]["text"], values)
        sentences.append(text)
        starts.append({slot: offset + start for slot, start in slot_offsets.items()})
        offset += len(text) + 1
    context = " ".join(sentences)

    # Pick the asked fact and slot among those whose answer type has a distractor in the paragraph.
    values_by_type: dict[str, set[str]] = {}
    for _, values in facts:
        for slot, value in values.items():
            values_by_type.setdefault(SLOT_TYPES[slot], set()).add(value)
    options = [
        (index, slot)
        for index, (name, _) in enumerate(facts)
        for slot in sorted(FACTS[name]["questions"])
        if len(values_by_type[SLOT_TYPES[slot]]) >= 2
    ]
    if not options:
        return None
    index, slot = rng.choice(options)
    name, values = facts[index]
    train_wordings, eval_wordings = FACTS[name]["questions"][slot]
    question, _ = fill(rng.choice(eval_wordings if eval_wording else train_wordings), values)
    answer = values[slot]
    start = starts[index][slot]
    assert context[start:start + len(answer)] == answer, (context, answer, start)
    return {
        "title": cast["people"][0],
        "context": context,
        "question": question,
        "answers": {"text": [answer], "answer_start": [start]},
    }


def _split(rng: random.Random, size: int, split: str, taken: set[tuple[str, str]]) -> list[dict]:
    rows: list[dict] = []
    attempts = 0
    eval_split = split == "validation"
    while len(rows) < size:
        attempts += 1
        if attempts > 50 * size + 1000:
            raise ValueError(f"cannot generate {size} distinct QA examples")
        held_out = eval_split and rng.random() < 0.5
        eval_wording = eval_split and rng.random() < 0.3
        row = _example(rng, held_out, eval_wording)
        if row is None or (row["context"], row["question"]) in taken:
            continue
        taken.add((row["context"], row["question"]))
        rows.append({"id": f"builtin-qa-{split}-{len(rows):05d}", **row})
    return rows


def generate(n_train: int, n_eval: int, seed: int = 0) -> dict[str, list[dict]]:
    """Generate ``n_train`` training and ``n_eval`` validation questions, deterministically from ``seed``.

    Rows follow SQuAD: ``{"id", "title", "context", "question", "answers": {"text": [str],
    "answer_start": [int]}}`` with ``context[answer_start:answer_start + len(text)] == text``.
    """
    rng = random.Random(f"reusebench-qa-{seed}")
    taken: set[tuple[str, str]] = set()
    train = _split(rng, n_train, "train", taken)
    validation = _split(rng, n_eval, "validation", taken)
    return {"train": train, "validation": validation}
