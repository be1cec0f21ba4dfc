"""Latency, memory and CPU-load measurement, each (model, format) in its own process."""

from harness.measure.cpuload import CpuLoadMonitor
from harness.measure.isolated import (
    MeasureJob,
    PrestartedWorker,
    child_env,
    measure_in_subprocess,
    save_inputs,
)
from harness.measure.latency import LatencyStats, measure_latency
from harness.measure.memory import PeakRSSSampler, cuda_peak_mb

__all__ = [
    "CpuLoadMonitor",
    "LatencyStats",
    "MeasureJob",
    "PeakRSSSampler",
    "PrestartedWorker",
    "child_env",
    "cuda_peak_mb",
    "measure_in_subprocess",
    "measure_latency",
    "save_inputs",
]
