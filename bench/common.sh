# Shared by the bench scripts (sourced; needs PY and SCALE set).

# scaled N: the cap N times $SCALE, rounded, at least 1.
scaled() {
  SCALE=$SCALE N=$1 "$PY" -c 'import os; print(max(1, round(float(os.environ["SCALE"]) * int(os.environ["N"]))))'
}

# require_model NAME: stop with the install command unless the named model is installed.
require_model() {
  "$PY" -m harness.cli models list | grep -q "$1 .*installed:" || {
    echo "$1 is not installed: run '$PY -m harness.cli models install $1' first" >&2; exit 2; }
}
