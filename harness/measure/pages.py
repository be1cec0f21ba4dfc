"""Which file-backed pages a process has mapped, and how a forked child maps the same ones again.

On fork, Linux does not copy the page-table entries of file-backed mappings that hold no private pages
(the text of shared libraries, for one): the child maps them again on first touch. A child forked by the
measurement server (:mod:`harness.measure.forkserver`) would then count the library pages that its
runtime's import had touched in the server as part of the model's peak RSS. Touching the server's present
pages once before the baseline is taken gives the child the resident set a freshly started process has
after the same imports, so ``peak_rss_mb`` means the same in both.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

PAGE = os.sysconf("SC_PAGE_SIZE")
_PRESENT = np.uint64(1 << 63)


def _file_mappings() -> list[tuple[int, int]]:
    """(start, end) of this process's readable file-backed mappings."""
    spans = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or fields[4] == "0" or "r" not in fields[1] or fields[5].startswith("["):
                continue
            start, end = (int(part, 16) for part in fields[0].split("-"))
            spans.append((start, end))
    return spans


def resident_file_pages() -> list[tuple[int, int]]:
    """Runs (address, pages) of this process's present pages in readable file-backed mappings; empty
    when /proc/self/pagemap cannot be read."""
    runs: list[tuple[int, int]] = []
    try:
        pagemap = open("/proc/self/pagemap", "rb")  # noqa: SIM115 - read in the loop below
    except OSError:
        return runs
    with pagemap:
        for start, end in _file_mappings():
            pagemap.seek(start // PAGE * 8)
            entries = np.frombuffer(pagemap.read((end - start) // PAGE * 8), dtype=np.uint64)
            present = (entries & _PRESENT) != 0
            if not present.any():
                continue
            # Runs of consecutive present pages: where the flag changes.
            edges = np.flatnonzero(np.diff(np.concatenate(([False], present, [False])).astype(np.int8)))
            runs.extend((start + int(a) * PAGE, int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True))
    return runs


def touch(runs: list[tuple[int, int]]) -> None:
    """Read one byte of every page in ``runs`` (maps them into this process's page table)."""
    for address, pages in runs:
        for page in range(pages):
            ctypes.string_at(address + page * PAGE, 1)
