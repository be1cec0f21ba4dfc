"""How reusebench runs: models, training, distillation, export, backends, measurement, runner, CLI."""
