"""Where the transformers Trainer's logs go: the ``reusebench`` logger (stderr and run.log), never stdout.

transformers' Trainer adds a PrinterCallback (``print(logs)``) when its progress bar is disabled, else a
ProgressCallback whose ``tqdm.write`` prints the same loss dicts to stdout: either broke ``run --json`` (stdout
must be one JSON document) and ``--quiet`` (stdout is only the results path). :func:`route_output` takes both off
a Trainer and adds :func:`trainer_log_callback`'s callback instead.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger("reusebench")


def _log_text(logs: dict[str, Any], state: Any) -> str:
    """One Trainer log entry as text: ``epoch 1/2, step 8/16: loss 0.6931, learning_rate 5e-05``."""
    epochs = f"/{state.num_train_epochs:g}" if getattr(state, "num_train_epochs", None) else ""
    where = f"epoch {float(logs.get('epoch', state.epoch or 0)):.2g}{epochs}, step {state.global_step}/{state.max_steps}"
    values = []
    for key, value in logs.items():
        if key in ("epoch", "total_flos"):
            continue
        values.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return f"{where}: {', '.join(values)}" if values else where


def trainer_log_callback(label: str, progress: bool) -> Any:
    """A Trainer callback that sends the Trainer's log entries (losses, learning rate, the final runtime) to the
    ``reusebench`` logger (stderr unless ``--quiet``, and run.log) and, with ``progress`` on a terminal, shows a
    step bar on stderr. It replaces transformers' PrinterCallback and ProgressCallback, which print the same
    dicts to stdout (``print(logs)``, ``tqdm.write``) and so broke ``--json`` and ``--quiet``."""
    from tqdm import tqdm
    from transformers import TrainerCallback

    class _TrainerLog(TrainerCallback):
        def __init__(self) -> None:
            self.bar: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if progress and state.is_world_process_zero:
                # disable=None: no bar when stderr is not a terminal (a CI log gets the log lines only).
                self.bar = tqdm(total=state.max_steps, desc=f"  {label}", unit="step", file=sys.stderr,
                                leave=False, dynamic_ncols=True, mininterval=1.0, disable=None)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if not logs or not state.is_world_process_zero:
                return
            if self.bar is not None:
                self.bar.clear()
            log.info("  %s: %s", label, _log_text(logs, state))
            if self.bar is not None:
                self.bar.refresh()

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return _TrainerLog()


def route_output(trainer: Any, label: str, progress: bool) -> Any:
    """Take the Trainer's stdout printers off ``trainer`` and log through :func:`trainer_log_callback` instead."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for printer in (PrinterCallback, ProgressCallback):
        while any(isinstance(cb, printer) for cb in trainer.callback_handler.callbacks):
            trainer.remove_callback(printer)
    trainer.add_callback(trainer_log_callback(label, progress))
    return trainer
