#!/usr/bin/env bash
# Builds the verification models (make_models.py), scores each in both runtimes with score.mjs and compares the
# runtimes with each other and with numpy. Prints what happened; exits 1 if anything differs from README.md's findings.
#   bash verify/run.sh [OUT_DIR]        (needs npm ci done, chromium, python3 with onnx and numpy)
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
JS="$(dirname "$HERE")"
OUT="${1:-$(mktemp -d)}"
# Debian's python3 (python3-onnx, python3-numpy) unless PYTHON names another; a python3 earlier on PATH may lack them.
PY="${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)}"
mkdir -p "$OUT"
"$PY" "$HERE/make_models.py" "$OUT" || exit 1
bad=0
for c in ops loop0 lstm0 tokenizer tokenizer_pkg scan0; do
  for rt in node web; do
    start=$(date +%s%N)
    node "$JS/score.mjs" --runtime "$rt" --model "$OUT/$c.onnx" --inputs "$OUT/$c.inputs.json" \
      --outputs "$OUT/$c.$rt.json" 2>"$OUT/$c.$rt.err"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "== $c on $rt: exit $rc, ${ms} ms"
    [ $rc -ne 0 ] && head -c 400 "$OUT/$c.$rt.err" && echo
    if [ "$c" = scan0 ]; then
      # Known: a Scan over zero iterations fails in both runtimes (ONNX Runtime's tensor slicer).
      [ $rc -eq 1 ] && grep -q "Invalid dim0_offset of 0" "$OUT/$c.$rt.err" || { echo "   UNEXPECTED (README says: fails)"; bad=1; }
    elif [ $rc -ne 0 ]; then
      bad=1
    fi
  done
  [ "$c" = scan0 ] && continue
  echo "-- $c: node vs web"
  if ! "$PY" "$HERE/compare.py" "$OUT/$c.node.json" "$OUT/$c.web.json" --tol 1e-6; then
    # Known: ONNX Runtime Web cuts string outputs at a NUL character ("\u0000<pad>" comes back as "").
    [ "$c" = tokenizer_pkg ] && echo "   (expected: the web runtime cuts the NUL padding strings)" || bad=1
  fi
  if [ -f "$OUT/$c.expected.json" ]; then
    echo "-- $c: node vs numpy"
    # Known: a Loop of zero iterations gives its scan output the shape (0, 0, 4), not (0, 2, 4), in both runtimes.
    "$PY" "$HERE/compare.py" "$OUT/$c.node.json" "$OUT/$c.expected.json" --tol 1e-5 || [ "$c" = loop0 ] || bad=1
  fi
done
echo "outputs in $OUT"
[ $bad -eq 0 ] && echo "verify: all as README.md describes" || echo "verify: something differs from README.md"
exit $bad
