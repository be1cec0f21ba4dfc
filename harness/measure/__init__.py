"""Latency, memory and CPU-load measurement, each (model, format) in its own process."""

from harness.measure.cpuload import CpuLoadMonitor
from harness.measure.forkserver import ForkServer, ForkServerPool, runtime_of
from harness.measure.isolated import (
    MeasureJob,
    child_env,
    measure_in_subprocess,
    save_inputs,
)
from harness.measure.latency import LatencyStats, measure_latency
from harness.measure.memory import PeakRSSSampler, cuda_peak_mb

__all__ = [
    "CpuLoadMonitor",
    "ForkServer",
    "ForkServerPool",
    "LatencyStats",
    "MeasureJob",
    "PeakRSSSampler",
    "child_env",
    "cuda_peak_mb",
    "measure_in_subprocess",
    "measure_latency",
    "runtime_of",
    "save_inputs",
]
