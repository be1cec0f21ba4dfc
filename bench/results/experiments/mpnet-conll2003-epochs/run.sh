#!/usr/bin/env bash
# mpnet's CoNLL-2003 teacher trained three times longer (issue #17), MiniLM beside it on the same recipe: 9 epochs
# at batch 16 (567 steps) at 1e-4, the new token-classification head at 1e-3, on the 1,000 training sentences and
# 500 eval sentences of bench/teachers.sh; teacher only, PyTorch (../mpnet-conll2003-lr/suite.yaml). Results:
# ../mpnet-conll2003-9ep-teacher-only.json; the figures are in README.md.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
X=bench/results/experiments/mpnet-conll2003-epochs
.venv/bin/reusebench run --suite bench/results/experiments/mpnet-conll2003-lr/suite.yaml --tasks $X/conll2003-9ep.yaml \
  --data-dir ../shared/data --teacher mpnet --teacher minilm --max-train 1000 --max-eval 500 --training-lanes 1 \
  --out /tmp/mpnet-conll-9ep --quiet
cp /tmp/mpnet-conll-9ep/results.json bench/results/experiments/mpnet-conll2003-9ep-teacher-only.json
