#!/usr/bin/env bash
# The two runs of this experiment, one after the other (see suite.yaml); their results files are
# ../mpnet-conll2003-two-rates-teacher-only.json (run 1) and ../mpnet-conll2003-lr3e-5-teacher-only.json (run 2).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
X=bench/results/experiments/mpnet-conll2003-lr
i=0
for TRAINING in "learning_rate: 1.0e-4, new_parameters_learning_rate: 1.0e-3" "learning_rate: 3.0e-5"; do
  i=$((i+1))
  sed "s/TRAINING/$TRAINING/" $X/conll2003-lr.yaml > /tmp/conll2003-$i.yaml
  echo "== $TRAINING $(date -u +%H:%M:%S)"
  .venv/bin/reusebench run --suite $X/suite.yaml --tasks /tmp/conll2003-$i.yaml --data-dir ../shared/data --teacher mpnet \
    --max-train 1000 --max-eval 500 --training-lanes 1 --out /tmp/mpnet-conll-$i --quiet
done
