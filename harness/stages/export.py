"""The export stage: a trained model to ONNX through optimum, and to dynamic int8 through onnxruntime.

An export error fails that format only: it is stored with the entry, and the records of that format
become failed records. A write error (disk full) stops the run and keeps the trained model.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.cache import CacheEntry
from harness.export import (
    INT8_FP32_HEADS,
    INT8_PER_CHANNEL,
    copy_side_files,
    export_onnx,
    quantize_dynamic_int8,
)
from harness.graph import Node, StageBase
from tasks.errors import ReusebenchError

log = logging.getLogger("reusebench")

EXPORT_FORMATS = ("onnx", "onnx-int8")
#: An export error is kept as a failed record's reason: long enough to read, short enough for any results reader.
MAX_ERROR_CHARS = 2000


@dataclass
class Exports:
    """Where a model's exported formats are, and why a format could not be made."""

    root: Path
    errors: dict[str, str] = field(default_factory=dict)

    def folder(self, fmt: str) -> Path | None:
        """The folder of ``fmt``, or None when it was not made."""
        path = self.root / fmt
        return path if fmt not in self.errors and path.is_dir() else None


def write_error(exc: OSError, target: Path, kept: Path) -> ReusebenchError:
    """A one-line error for an export that could not be written (disk full, read-only disk...)."""
    hint = "; free some space and run again" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return ReusebenchError(
        f"{exc.filename or target}: cannot write the export: {exc.strerror or exc}{hint} "
        f"(the trained model in {kept} is kept)"
    )


class ExportStage(StageBase):
    """ONNX (and, for the suite's ``int8_roles``, int8) exports of one trained model."""

    name: ClassVar[str] = "export"
    after: ClassVar[tuple[str, ...]] = ("finetune", "distill")

    @staticmethod
    def _wants_int8(unit: Any, node: Node) -> bool:
        return "onnx-int8" in unit.suite.formats and node.params["role"] in unit.suite.int8_roles

    @staticmethod
    def _model_dir(unit: Any, node: Node) -> Path:
        model = node.inputs["model"]
        return unit.cache.path_for(model.stage.name, str(model.key))

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        return {
            "model": node.input_build("model"),
            "task": unit.kind.onnx_export_task(unit.spec, self._model_dir(unit, node)),
            "int8": self._wants_int8(unit, node),
            "cpu_flags": unit.environment.get("cpu_flags", []),
            "per_channel": INT8_PER_CHANNEL,
            "fp32_heads": INT8_FP32_HEADS,
        }

    def load(self, unit: Any, node: Node, entry: CacheEntry) -> Exports:
        return Exports(entry.path, dict(entry.metadata.get("errors", {})))

    def compute(self, unit: Any, node: Node, folder: Path, meta: dict[str, Any]) -> Exports:
        log.info("[%s] exporting %s", unit.spec.name, node.inputs["model"].result.name)
        source = self._model_dir(unit, node)
        onnx_task = unit.kind.onnx_export_task(unit.spec, source)
        errors: dict[str, str] = {}
        try:
            export_onnx(source, folder / "onnx", onnx_task)
            copy_side_files(source, folder / "onnx")
        except ReusebenchError as exc:
            errors["onnx"] = str(exc)[:MAX_ERROR_CHARS]
            log.warning("[%s] %s", unit.spec.name, exc)
        except OSError as exc:  # disk full, read-only disk: stop the run, keep what is trained
            raise write_error(exc, folder / "onnx", source) from None
        if self._wants_int8(unit, node) and "onnx" not in errors:
            try:
                quantize_dynamic_int8(folder / "onnx", folder / "onnx-int8", unit.environment.get("cpu_flags", []))
            except ReusebenchError as exc:
                errors["onnx-int8"] = str(exc)[:MAX_ERROR_CHARS]
            except OSError as exc:
                raise write_error(exc, folder / "onnx-int8", source) from None
        meta["errors"] = errors
        return Exports(folder, errors)

    def stored(self, unit: Any, node: Node, result: Exports, path: Path) -> Exports:
        return Exports(path, result.errors)
