"""The export stage: a trained model to ONNX through optimum, and from that to int8 through onnxruntime
(dynamic ``onnx-int8``, static ``onnx-int8-static``; see :mod:`harness.int8_control`).

An export error fails that format only: it is stored with the entry, and the records of that format
become failed records (an int8 format fails too when the fp32 export it is made from failed). A write
error (disk full) stops the run and keeps the trained model.
"""

from __future__ import annotations

import errno
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.cache import CacheEntry
from harness.estimate import ESTIMATE_SECONDS_PER_EXPORT, ESTIMATE_SECONDS_PER_INT8
from harness.export import INT8_FP32_HEADS, INT8_PER_CHANNEL, copy_side_files, export_onnx
from harness.graph import Node, StageBase
from harness.quantize import INT8_FORMATS
from tasks.errors import ReusebenchError

log = logging.getLogger("reusebench")

EXPORT_FORMATS = ("onnx", *INT8_FORMATS)
#: Bumped when the int8 formats are made differently with the same inputs (a new cache key for them).
INT8_RECIPE = 2
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
    after: ClassVar[tuple[str, ...]] = ("finetune", "distill", "adapt")

    @staticmethod
    def _int8_formats(unit: Any, node: Node) -> list[str]:
        """The int8 formats this model gets: those the suite lists, for the suite's ``int8_roles``."""
        if node.params["role"] not in unit.suite.int8_roles:
            return []
        return [fmt for fmt in INT8_FORMATS if fmt in unit.suite.formats]

    @staticmethod
    def _model_dir(unit: Any, node: Node) -> Path:
        model = node.inputs["model"]
        return unit.cache.path_for(model.stage.name, str(model.key))

    def payload(self, unit: Any, node: Node) -> dict[str, Any]:
        int8 = self._int8_formats(unit, node)
        config = unit.suite.int8
        # Static calibration and the accuracy check read a seeded sample of the training split.
        samples_train = "onnx-int8-static" in int8 or (bool(int8) and config.max_drop is not None)
        return {
            "model": node.input_build("model"),
            "task": unit.kind.onnx_export_task(unit.spec, self._model_dir(unit, node)),
            "int8": "onnx-int8" in int8,
            "int8_static": "onnx-int8-static" in int8,
            "int8_config": config.model_dump(mode="json") if int8 else None,
            "int8_recipe": INT8_RECIPE,
            "train": unit.data_fingerprint["train"] if samples_train else None,
            "seed": unit.options.seed if samples_train else None,
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
        self._make_int8(unit, node, folder, source, errors)
        meta["errors"] = errors
        return Exports(folder, errors)

    def _make_int8(self, unit: Any, node: Node, folder: Path, source: Path, errors: dict[str, str]) -> None:
        """The int8 formats, each from the fp32 export; a failure is that format's error only."""
        from harness.int8_control import Int8Maker

        formats = self._int8_formats(unit, node)
        if not formats:
            return
        if "onnx" in errors:
            reason = f"not made: the fp32 ONNX export it is quantized from failed ({errors['onnx'][:200]})"
            errors.update(dict.fromkeys(formats, reason))
            return
        maker = Int8Maker(unit, folder / "onnx")
        for fmt in formats:
            try:
                maker.make(fmt, folder / fmt)
            except ReusebenchError as exc:
                errors[fmt] = str(exc)[:MAX_ERROR_CHARS]
                log.warning("[%s] %s", unit.spec.name, exc)
                shutil.rmtree(folder / fmt, ignore_errors=True)  # a half-written format is not kept
            except OSError as exc:
                raise write_error(exc, folder / fmt, source) from None

    def estimate_s(self, unit: Any, node: Node) -> float:
        seconds = ESTIMATE_SECONDS_PER_EXPORT + ESTIMATE_SECONDS_PER_INT8 * len(self._int8_formats(unit, node))
        return seconds * unit.kind.params_per_encoder_param

    def stored(self, unit: Any, node: Node, result: Exports, path: Path) -> Exports:
        return Exports(path, result.errors)
