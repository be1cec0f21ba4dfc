"""A zygote for measurement processes: import a runtime once, fork a fresh process per measurement.

Importing torch and transformers takes 8-11 s of a 2-core machine's time, and a run measures ten or more
PyTorch models; optimum's ONNX Runtime classes for generation take another 5 s each time. A fork server
(``python -m harness.measure.forkserver RUNTIME``) imports its runtime once and then, for each job, forks
a child that loads the model, measures it and exits. Each measurement is still a process of its own that
holds one model: its memory, thread pools and allocator state are not those of an earlier model, and its
peak RSS above the baseline is that model's alone (the child maps the server's library pages again
before its baseline, :mod:`harness.measure.pages`, so that the figure means what it means in a freshly
started process). The server itself never runs a tensor operation (so
no OpenMP or ONNX Runtime thread pool exists when it forks) and never loads a model.

Protocol on the server's stdin/stdout, one line each: ``ready`` out once the runtime is imported; then
``JOB.json<TAB>RESULT.json<TAB>STDERR.log`` in; ``pid N`` when the child is forked, then ``exit CODE
CPU_SECONDS`` when it has ended. The children's CPU
seconds add up in :func:`forked_cpu_s` (``getrusage`` of the run's process does not see them: they are
the server's children).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

#: the runtimes a server can hold; ONNX models that decode (generation) also need optimum and torch
RUNTIMES = ("pytorch", "onnx", "onnx-generation")
SERVER_LOG = "forkserver.log"


def runtime_for(fmt: str, generation: bool) -> str:
    """The runtime a model of format ``fmt`` measures in, a generation model or not: one of :data:`RUNTIMES`."""
    if fmt == "pytorch":
        return "pytorch"
    return "onnx-generation" if generation else "onnx"


def runtime_of(fmt: str, model_dir: str | Path) -> str:
    """The runtime a (format, model folder) measures in: one of :data:`RUNTIMES`."""
    if fmt == "pytorch":
        return "pytorch"
    from harness.backends import generation_family

    return runtime_for(fmt, generation_family(model_dir) is not None)


def _import_for(runtime: str) -> None:
    # What harness.measure.worker.import_runtime imports for a model of this runtime, no more: the
    # process's peak RSS is then what a freshly started worker would have.
    if runtime == "pytorch":
        import torch  # noqa: F401
        import transformers  # noqa: F401

        return
    import onnxruntime  # noqa: F401

    if runtime == "onnx-generation":
        from harness.backends import import_onnx_generation_classes

        import_onnx_generation_classes()


def _child(job: dict, result_path: str, stderr_path: str, import_s: float, pages: list[tuple[int, int]]) -> int:
    """Body of a forked child: stderr to the job's log, stdout away from the protocol pipe, the server's
    library pages mapped again (:mod:`harness.measure.pages`), then the job."""
    from harness.measure.pages import touch
    from harness.measure.worker import run_job

    log_fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    try:
        touch(pages)
        result = run_job(job, import_s=import_s)
        Path(result_path).write_text(json.dumps(result, indent=2))
        return 0
    except BaseException:  # noqa: BLE001 - the child reports every failure through its stderr and exit code
        traceback.print_exc()
        return 1
    finally:
        sys.stderr.flush()


def serve(runtime: str) -> int:
    """The server loop: import ``runtime``, then fork one child per job line read from stdin."""
    from harness.measure.pages import resident_file_pages
    from harness.measure.worker import import_runtime

    if runtime not in RUNTIMES:
        print(f"unknown runtime {runtime!r} (known: {', '.join(RUNTIMES)})", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    _import_for(runtime)
    import_s = time.perf_counter() - t0
    print("ready", flush=True)
    for line in sys.stdin:
        job_path, result_path, stderr_path = line.rstrip("\n").split("\t")
        job = json.loads(Path(job_path).read_text())
        import_runtime(job["fmt"], job["model_dir"])  # this architecture's classes, once per server
        pages = resident_file_pages()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(_child(job, result_path, stderr_path, import_s, pages))  # no atexit, no flush of the pipe
        print(f"pid {pid}", flush=True)
        _, status, usage = os.wait4(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)} {usage.ru_utime + usage.ru_stime:.4f}", flush=True)
    return 0


_forked_cpu_s = 0.0


def forked_cpu_s() -> float:
    """User + system CPU seconds of every measurement child forked for this process so far."""
    return _forked_cpu_s


class ForkServer:
    """The client side of one server process, started for (runtime, threads)."""

    def __init__(self, runtime: str, threads: int, log_dir: Path):
        from harness.measure.child_env import child_env

        self.runtime, self.threads = runtime, threads
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{SERVER_LOG[:-4]}-{runtime}-{threads}t.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.measure.forkserver", runtime],
            env=child_env(threads), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True, bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ready = False
        self._ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # end of file: the server is gone

    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.proc.poll() is None

    def _next(self, deadline: float) -> str:
        try:
            line = None if self._ended else self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None
        if line is None:
            self._ended = True  # later calls say so at once instead of waiting for a line that never comes
            self.close()
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"the {self.runtime} measurement server exited:\n{tail}")
        return line

    def wait_ready(self, timeout_s: float) -> None:
        """Return once the server has imported its runtime. Raises TimeoutError past ``timeout_s`` and
        RuntimeError when the server died while importing."""
        if not self._ready:
            line = self._next(time.monotonic() + timeout_s)
            if line != "ready":
                raise RuntimeError(f"the {self.runtime} measurement server said {line!r} instead of 'ready'")
            self._ready = True

    def run(self, job_path: Path, result_path: Path, stderr_path: Path, timeout_s: float) -> int:
        """Measure one job in a forked child; returns its exit code. Raises TimeoutError past ``timeout_s``
        (the child and the server are killed) and RuntimeError when the server itself has died."""
        assert self.proc.stdin is not None
        deadline = time.monotonic() + timeout_s
        try:
            self.proc.stdin.write(f"{job_path}\t{result_path}\t{stderr_path}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the server died; _next reports its log
        global _forked_cpu_s
        child = None
        try:
            self.wait_ready(deadline - time.monotonic())
            child = int(self._next(deadline).split()[1])
            _, code, cpu_s = self._next(deadline).split()
            _forked_cpu_s += float(cpu_s)
            return int(code)
        except TimeoutError:
            if child is not None:
                _kill(child)
            self.close()
            raise

    def close(self) -> None:
        """Stop the server (its stdin closes; it is killed when it does not exit within 5 s)."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


class ForkServerPool:
    """The servers of this process, one per (runtime, threads), started on first use and kept until
    :meth:`close_all` (called at the end of a run and at interpreter exit)."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, int], ForkServer] = {}

    def get(self, runtime: str, threads: int, log_dir: Path) -> ForkServer:
        """The running server for (runtime, threads), started now when there is none (it imports while the
        caller goes on: a job sent to it waits until the import is done)."""
        key = (runtime, threads)
        server = self._servers.get(key)
        if server is None or not server.alive():
            server = self._servers[key] = ForkServer(runtime, threads, Path(log_dir))
        return server

    def prestart(self, keys: set[tuple[str, int]], log_dir: Path) -> None:
        """Start the servers for these (runtime, threads) now, so that they import while nothing is measured
        (the training pass's last job, say) instead of in front of the first record that needs each one."""
        for runtime, threads in sorted(keys):
            self.get(runtime, threads, log_dir)

    def wait_all_ready(self, timeout_s: float = 300.0) -> None:
        """Wait until no server is still importing: an import beside a latency measurement would slow it.
        A server that died or hangs is stopped here; the next :meth:`get` for it starts a new one."""
        for server in list(self._servers.values()):
            if not server.alive():
                continue
            try:
                server.wait_ready(timeout_s)
            except (TimeoutError, RuntimeError):
                server.close()

    def close_all(self) -> None:
        """Stop every server."""
        for server in self._servers.values():
            server.close()
        self._servers.clear()


#: the pool the record stage uses
SERVERS = ForkServerPool()
atexit.register(SERVERS.close_all)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(f"usage: python -m harness.measure.forkserver {{{','.join(RUNTIMES)}}}", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(sys.argv[1]))
