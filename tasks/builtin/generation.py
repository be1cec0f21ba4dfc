"""Built-in sequence-to-sequence data: short work e-mails -> their subject line.

Each source is a one- or two-sentence e-mail announcing that an event was rescheduled or confirmed::

    source: "hi all , the meeting about budget has been moved to friday morning . thanks ."
    target: "budget meeting moved to friday morning"

The rule: the subject line is ``[urgent] [topic] event verb preposition day [part-of-day]`` where

* ``event`` (meeting, call, review, ...) and ``topic`` (budget, hiring, ...) come from the phrase naming the
  event, whatever its wording ("the budget meeting", "the meeting about budget", "the meeting on budget",
  "the meeting with the budget team"); an event named without a topic gives a subject line without one;
* ``verb preposition day [part-of-day]`` are copied from the announcement ("moved to friday morning"),
  dropping the auxiliary ("has been", "was", "is now", "will be");
* ``urgent`` leads the subject line when, and only when, the e-mail says "urgent".

So every target word occurs in the source and targets are 4 to 7 words long, but the task is not a copy: the
topic moves in front of the event, auxiliaries, greetings and sign-offs are dropped, and a third of the
e-mails carry a distractor sentence naming another day or topic ("the sales report is attached .") that
must not leak into the subject line. The vocabulary is small (under 60 content words) and the output order
fixed, so a warm-started BERT2BERT model can pick the rule up from about a thousand examples.

The validation split uses (topic, event) combinations that never occur in training for about half of its
examples and two e-mail wordings never used in training for some; no validation source occurs in training.
"""

import random

DEFAULT_SIZES = (1200, 200)

EVENTS = ("meeting", "call", "review", "lunch", "workshop", "interview", "training", "demo")
TOPICS = ("budget", "hiring", "sales", "design", "security", "travel", "marketing", "product", "website",
          "contract", "research", "safety")
# (verb, preposition): the announcement reads "<auxiliary> <verb> <preposition> <day>".
ACTIONS = (("moved", "to"), ("postponed", "to"), ("pushed", "to"), ("confirmed", "for"), ("booked", "for"),
           ("set", "for"))
AUXILIARIES = ("has been", "was", "is now", "will be")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "tomorrow")
PARTS_OF_DAY = ("morning", "afternoon", "evening")

# Ways to name the event; every one holds the event word and, except the last, the topic word.
EVENT_PHRASES = ("the {topic} {event}", "the {event} about {topic}", "the {event} on {topic}",
                 "the {event} with the {topic} team")
TRAIN_TEMPLATES = (
    "hi all , {thing} {announcement} . thanks .",
    "quick note : {thing} {announcement} .",
    "hello team , please note that {thing} {announcement} . see you there .",
    "as discussed , {thing} {announcement} . let me know if that is a problem .",
    "good news : {thing} {announcement} .",
)
EVAL_TEMPLATES = (
    "dear colleagues , just so you know , {thing} {announcement} .",
    "update : {thing} {announcement} , please tell the others .",
)
DAY_DISTRACTORS = ("thanks for the notes from {day} .", "i am out of the office on {day} .")
TOPIC_DISTRACTORS = ("the {topic} report is attached .", "the {topic} slides are in the shared folder .")

# (topic, event) combinations only ever used in validation: every fifth one, in a fixed order.
HELD_OUT = tuple(
    (topic, event)
    for index, (topic, event) in enumerate((t, e) for t in TOPICS for e in EVENTS)
    if index % 5 == 0
)


def subject_line(event: str, topic: str | None, verb: str, preposition: str, day: str, part: str | None,
                 urgent: bool) -> str:
    """The subject line the rule gives for an e-mail with these fields."""
    words = ["urgent"] if urgent else []
    if topic is not None:
        words.append(topic)
    words += [event, verb, preposition, day]
    if part is not None:
        words.append(part)
    return " ".join(words)


def _example(rng: random.Random, eval_split: bool) -> dict:
    if eval_split and rng.random() < 0.5:
        topic, event = rng.choice(HELD_OUT)
    else:
        while True:
            topic, event = rng.choice(TOPICS), rng.choice(EVENTS)
            if (topic, event) not in HELD_OUT:
                break
    with_topic = rng.random() < 0.85
    thing = rng.choice(EVENT_PHRASES).format(topic=topic, event=event) if with_topic else f"the {event}"
    verb, preposition = rng.choice(ACTIONS)
    day = rng.choice(DAYS)
    part = rng.choice(PARTS_OF_DAY) if rng.random() < 0.4 else None
    when = f"{day} {part}" if part else day
    announcement = f"{rng.choice(AUXILIARIES)} {verb} {preposition} {when}"
    templates = EVAL_TEMPLATES if eval_split and rng.random() < 0.3 else TRAIN_TEMPLATES
    sentences = [rng.choice(templates).format(thing=thing, announcement=announcement)]
    if rng.random() < 0.35:
        if rng.random() < 0.5:
            other_day = rng.choice([other for other in DAYS if other not in (day, "tomorrow")])
            distractor = rng.choice(DAY_DISTRACTORS).format(day=other_day)
        else:
            other_topic = rng.choice([other for other in TOPICS if other != topic])
            distractor = rng.choice(TOPIC_DISTRACTORS).format(topic=other_topic)
        if rng.random() < 0.5:
            sentences.insert(0, distractor)
        else:
            sentences.append(distractor)
    urgent = rng.random() < 0.25
    if urgent:
        if rng.random() < 0.5:
            sentences.insert(0, "urgent :")
        else:
            sentences.append("this is urgent .")
    source = " ".join(sentences)
    target = subject_line(event, topic if with_topic else None, verb, preposition, day, part, urgent)
    return {"source": source, "target": target}


def _split(rng: random.Random, size: int, eval_split: bool, taken: set[str]) -> list[dict]:
    rows: list[dict] = []
    attempts = 0
    while len(rows) < size:
        attempts += 1
        if attempts > 50 * size + 1000:
            raise ValueError(f"cannot generate {size} distinct generation examples")
        row = _example(rng, eval_split)
        if row["source"] in taken:
            continue
        taken.add(row["source"])
        rows.append(row)
    return rows


def generate(n_train: int, n_eval: int, seed: int = 0) -> dict[str, list[dict]]:
    """Generate ``n_train`` training and ``n_eval`` validation e-mails, deterministically from ``seed``.

    Rows are ``{"source": str, "target": str}``; every target word occurs in its source.
    """
    rng = random.Random(f"reusebench-generation-{seed}")
    taken: set[str] = set()
    train = _split(rng, n_train, False, taken)
    validation = _split(rng, n_eval, True, taken)
    return {"train": train, "validation": validation}
