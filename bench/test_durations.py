"""Writes tests/module_seconds.json: each test module's measured seconds, from a pytest JUnit XML file.

tests/conftest.py orders the modules by these figures, longest first, so that ``make test``'s two workers finish
together (longest-processing-time-first scheduling of whole modules). Refresh it after adding a slow module:

    .venv/bin/python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder --junitxml=/tmp/junit.xml
    .venv/bin/python bench/test_durations.py /tmp/junit.xml
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_seconds(junit: Path) -> dict[str, float]:
    """Seconds per test module file name (setup, call and teardown of its tests), from ``junit``."""
    seconds: dict[str, float] = defaultdict(float)
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").split(".")
        name = next((f"{part}.py" for part in module if part.startswith("test_")), None)
        if name is not None:
            seconds[name] += float(case.get("time", 0.0))
    return {name: round(value, 1) for name, value in sorted(seconds.items(), key=lambda item: -item[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "module_seconds.json")
    args = parser.parse_args()
    seconds = module_seconds(args.junit)
    args.out.write_text(json.dumps(seconds, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(seconds)} modules, {sum(seconds.values()):.0f} s in all")


if __name__ == "__main__":
    main()
