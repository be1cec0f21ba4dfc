"""Built-in data generators: deterministic, offline data sets for the embedded default suite.

Each generator is ``generate(n_train, n_eval, seed=0) -> {"train": [...], "validation": [...]}``; its module
documents the rows it makes, the rule behind the labels, and ``DEFAULT_SIZES``.
"""

from collections.abc import Callable

from tasks.builtin import generation, ner, qa, sentiment, similarity

GENERATORS: dict[str, Callable[..., dict[str, list[dict]]]] = {
    "sentiment": sentiment.generate,
    "similarity": similarity.generate,
    "ner": ner.generate,
    "qa": qa.generate,
    "generation": generation.generate,
}
