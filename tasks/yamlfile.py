"""Reading task and suite YAML: safe tags only, one value per key, bounded size and expansion.

* The file must be a regular file of at most :data:`MAX_DEFINITION_BYTES`, checked on the open descriptor
  before a byte is read (a FIFO, ``/dev/zero`` or a folder is refused at once).
* The *safe* loader: a tag such as ``!!python/object/apply:os.system`` is an error, never constructed.
* A key given twice in one mapping is an error naming the key and both lines (PyYAML keeps the last silently);
  keys merged in with ``<<:`` may still be overridden, as YAML intends.
* Aliases that repeat aliases (an "alias bomb") are refused after :data:`MAX_YAML_VALUES` values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from tasks.errors import ConfigError
from tasks.files import read_bounded

#: A task or suite definition is a few hundred bytes; anything above this is not one.
MAX_DEFINITION_BYTES = 1_000_000
# Task and suite files hold tens of values; aliases that repeat aliases can make a few lines stand for billions,
# which the safe loader builds cheaply (shared references) but validation would walk one by one.
MAX_YAML_VALUES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that gives the same key twice."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        """Check the mapping's own keys (merge keys aside) for repeats, then build it as the safe loader does."""
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first_line
                except TypeError:  # an unhashable key: the safe loader's own error says so
                    continue
                line = key_node.start_mark.line + 1
                if seen:
                    raise ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first given on line {first_line[key]}); a key may appear once",
                        key_node.start_mark,
                    )
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _refuse_expansion_bombs(data: Any, path: Path) -> None:
    """Count the values ``data`` stands for, alias repeats included, and stop at ``MAX_YAML_VALUES``."""
    pending, seen = [data], 0
    while pending:
        value = pending.pop()
        seen += 1
        if seen > MAX_YAML_VALUES:
            raise ConfigError(
                f"{path}: invalid YAML: stands for more than {MAX_YAML_VALUES:,} values once its aliases are "
                "expanded; task and suite files are small, so this looks like an alias bomb"
            )
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def parse_yaml_text(text: str, path: str | Path) -> Any:
    """Parse ``text`` with :class:`UniqueKeyLoader`; every failure is a one-line :class:`ConfigError`."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date or `!!int abc`
        raise ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a task or suite file: a regular file of at most 1 MB, UTF-8, one YAML mapping (see the module doc)."""
    path = Path(path)
    raw = read_bounded(path, MAX_DEFINITION_BYTES, ConfigError, "task or suite file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    data = parse_yaml_text(text, path)
    _refuse_expansion_bombs(data, path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    return data
