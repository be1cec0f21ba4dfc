#!/usr/bin/env bash
# Issue #22's two figures, measured as a newcomer meets them: `make run` with a cold stage cache and `make test`,
# each RUNS times, alone on the machine (run nothing else meanwhile). Writes OUT/summary.json (wall seconds of
# every run, the run's own wall_s and training-pass seconds, pytest's summary line, the CPU) and each run's
# per-stage profile (the end of its run.log) as OUT/run-N-profile.txt.
#
#   bash bench/time_budget.sh [RUNS] [OUT]      # defaults: 3, bench/results/time-budget/<date>-<cpu vendor>
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${1:-3}"
VENDOR="$(lscpu | sed -n 's/^Vendor ID: *//p' | head -1)"
OUT="${2:-bench/results/time-budget/$(date -u +%Y-%m-%d)-${VENDOR:-cpu}}"
mkdir -p "$OUT"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

make install-test > "$SCRATCH/install.log" 2>&1  # installs are not part of either figure

for i in $(seq 1 "$RUNS"); do
  # A cold stage cache and results store of its own, as on a fresh machine; results in runs/ as make run's.
  start=$(date +%s.%N)
  REUSEBENCH_CACHE="$SCRATCH/cache-$i" REUSEBENCH_DB="$SCRATCH/db-$i.sqlite" make run > "$SCRATCH/run-$i.log" 2>&1
  end=$(date +%s.%N)
  run_dir="$(sed -n 's/.*run directory: \([^ ]*\) .*/\1/p' "$SCRATCH/run-$i.log" | tail -1)"
  sed -n '/stage profile:/,$p' "$run_dir/run.log" | cut -d' ' -f4- > "$OUT/run-$i-profile.txt"
  python3 - "$run_dir/results.json" "$start" "$end" > "$SCRATCH/run-$i.json" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))
passed = (results.get("profile") or {}).get("training_pass") or {}
print(json.dumps({"make_run_wall_s": round(float(sys.argv[3]) - float(sys.argv[2]), 1),
                  "run_wall_s": results["wall_s"], "training_pass_wall_s": passed.get("wall_s"),
                  "run": results.get("run_id"), "commit": (results.get("environment") or {}).get("git_commit")}))
EOF
  echo "make run $i: $(cat "$SCRATCH/run-$i.json")"
done

for i in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  # a failing make test ends the script (set -e): its log's tail is kept first, as the scratch folder goes
  make test > "$SCRATCH/test-$i.log" 2>&1 || { tail -50 "$SCRATCH/test-$i.log" > "$OUT/test-$i-failed.log"; exit 1; }
  end=$(date +%s.%N)
  summary="$(grep -E '^[0-9]+ passed' "$SCRATCH/test-$i.log" | tail -1)"
  python3 -c 'import json,sys; print(json.dumps({"make_test_wall_s": round(float(sys.argv[2]) - float(sys.argv[1]), 1), "pytest": sys.argv[3]}))' \
    "$start" "$end" "$summary" > "$SCRATCH/test-$i.json"
  echo "make test $i: $(cat "$SCRATCH/test-$i.json")"
done

python3 - "$SCRATCH" "$RUNS" "$OUT/summary.json" <<'EOF'
import json, platform, subprocess, sys
scratch, runs, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "?")
flags = next((line.split(":", 1)[1].split() for line in lscpu.splitlines() if line.startswith("Flags")), [])
isa = sorted({f for f in flags if f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16")})
summary = {
    "cpu": model, "isa": isa, "cpus": len(__import__("os").sched_getaffinity(0)), "python": platform.python_version(),
    "make_run": [json.load(open(f"{scratch}/run-{i}.json")) for i in range(1, runs + 1)],
    "make_test": [json.load(open(f"{scratch}/test-{i}.json")) for i in range(1, runs + 1)],
    "commands": ["REUSEBENCH_CACHE=<empty dir> REUSEBENCH_DB=<new file> make run", "make test"],
}
json.dump(summary, open(target, "w"), indent=2)
print(json.dumps(summary, indent=2))
EOF
