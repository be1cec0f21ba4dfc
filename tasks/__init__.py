"""What reusebench evaluates: task and suite definitions, task kinds, built-in data and metrics."""
