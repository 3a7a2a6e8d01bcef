#!/bin/sh
# Tests of the cinfer program: exit codes, messages, outputs compared with ONNX test data.
# usage: test_cli.sh PATH/TO/cinfer [ONNX_TESTDATA_DIR]
# Needs Debian's /usr/bin/python3 with numpy and onnx (override with $CINFER_PYTHON).
set -u

CINFER=${1:?usage: test_cli.sh PATH/TO/cinfer [ONNX_TESTDATA_DIR]}
DATA=${2:-/usr/share/libonnx-testdata/data}
PY=${CINFER_PYTHON:-/usr/bin/python3}
NODE=$DATA/node
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cinfer_cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

failures=0
checks=0

fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
    if [ -s "$TMP/stderr" ]; then sed 's/^/  stderr: /' "$TMP/stderr" | head -n 5; fi
}
pass() { echo "ok:   $*"; }

# run_cli EXPECTED_RC DESCRIPTION ARGS...: runs cinfer, stdout in $TMP/stdout, stderr in
# $TMP/stderr, and checks the exit code and, for failures, the first stderr line.
run_cli() {
    expect=$1
    what=$2
    shift 2
    checks=$((checks + 1))
    "$CINFER" "$@" >"$TMP/stdout" 2>"$TMP/stderr"
    rc=$?
    if [ "$rc" -ne "$expect" ]; then
        fail "$what: exit $rc, expected $expect (cinfer $*)"
        return 1
    fi
    if [ "$expect" -ne 0 ] && ! head -n 1 "$TMP/stderr" | grep -q '^cinfer: error: .'; then
        fail "$what: first stderr line is not 'cinfer: error: ...'"
        return 1
    fi
    pass "$what"
    return 0
}

# expect_grep FILE PATTERN DESCRIPTION
expect_grep() {
    checks=$((checks + 1))
    if grep -q -- "$2" "$1"; then pass "$3"; else fail "$3: no '$2' in $(basename "$1")"; fi
}

# py_check DESCRIPTION PYTHON-CODE: runs the code; exit 0 is a pass.
py_check() {
    checks=$((checks + 1))
    if "$PY" -c "$2" >"$TMP/py.out" 2>&1; then
        pass "$1"
    else
        fail "$1"
        sed 's/^/  /' "$TMP/py.out"
    fi
}

# Compares a saved .npy with an ONNX TensorProto (.pb) or another .npy, as ONNX's own runner
# does: numpy.testing.assert_allclose(rtol=1e-3, atol=1e-7), same shape and dtype.
compare() {
    py_check "$1" "
import sys, numpy as np, onnx
from onnx import numpy_helper
def load(p):
    if p.endswith('.pb'):
        t = onnx.TensorProto(); t.ParseFromString(open(p, 'rb').read())
        return numpy_helper.to_array(t)
    return np.load(p)
got, ref = load('$2'), load('$3')
assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
assert got.shape == ref.shape, (got.shape, ref.shape)
np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-7)
"
}

if [ ! -x "$CINFER" ]; then
    echo "test_cli.sh: $CINFER is not an executable"
    exit 1
fi
if ! "$PY" -c 'import numpy, onnx' 2>/dev/null; then
    echo "test_cli.sh: $PY lacks numpy or onnx"
    exit 1
fi

# ---- Models made for these tests ----------------------------------------------------------
"$PY" - "$TMP" <<'EOF' || { echo "test_cli.sh: cannot write test models"; exit 1; }
import sys, numpy as np, onnx
from onnx import helper, TensorProto as TP
d = sys.argv[1]
def save(name, nodes, ins, outs, inits=(), opset=17, domains=()):
    g = helper.make_graph(nodes, name, ins, outs, list(inits))
    ops = [helper.make_opsetid('', opset)] + [helper.make_opsetid(x, 1) for x in domains]
    onnx.save(helper.make_model(g, opset_imports=ops), f'{d}/{name}.onnx')
rng = np.random.default_rng(7)
w = rng.standard_normal((3, 4)).astype(np.float32)
# A symbolic batch and an output name that is not a file name.
save('symbolic', [helper.make_node('MatMul', ['x', 'w'], ['out/put:0'])],
     [helper.make_tensor_value_info('x', TP.FLOAT, ['batch', 3])],
     [helper.make_tensor_value_info('out/put:0', TP.FLOAT, ['batch', 4])],
     [helper.make_tensor('w', TP.FLOAT, [3, 4], w.ravel())])
np.save(f'{d}/w.npy', w)
# An int64 input (token ids): Gather rows of a table.
table = rng.standard_normal((100, 2)).astype(np.float32)
save('ids', [helper.make_node('Gather', ['table', 'ids'], ['emb'])],
     [helper.make_tensor_value_info('ids', TP.INT64, ['seq'])],
     [helper.make_tensor_value_info('emb', TP.FLOAT, ['seq', 2])],
     [helper.make_tensor('table', TP.FLOAT, [100, 2], table.ravel())])
# A BERT-style attention mask and token types beside the ids, echoed by Cast (to float).
save('bert_inputs', [helper.make_node('Cast', ['attention_mask'], ['mask_out'], to=TP.FLOAT),
                     helper.make_node('Cast', ['token_type_ids'], ['types_out'], to=TP.FLOAT)],
     [helper.make_tensor_value_info('attention_mask', TP.INT64, ['batch', 'seq']),
      helper.make_tensor_value_info('token_type_ids', TP.INT64, ['batch', 'seq'])],
     [helper.make_tensor_value_info('mask_out', TP.FLOAT, ['batch', 'seq']),
      helper.make_tensor_value_info('types_out', TP.FLOAT, ['batch', 'seq'])])
# An op no runtime knows: load must fail with UNSUPPORTED.
save('unsupported', [helper.make_node('NoSuchOp', ['x'], ['y'], domain='com.example')],
     [helper.make_tensor_value_info('x', TP.FLOAT, [2])],
     [helper.make_tensor_value_info('y', TP.FLOAT, [2])], domains=['com.example'])
# A symbolic image width a 2-wide pooling window needs to be at least 2 (PaddleOCR's rec).
save('pool_width', [helper.make_node('MaxPool', ['x'], ['y'], kernel_shape=[1, 2])],
     [helper.make_tensor_value_info('x', TP.FLOAT, ['n', 3, 8, 'width'])],
     [helper.make_tensor_value_info('y', TP.FLOAT, None)])
data = open(f'{d}/symbolic.onnx', 'rb').read()
open(f'{d}/truncated.onnx', 'wb').write(data[:len(data) // 2])
open(f'{d}/garbage.onnx', 'wb').write(b'\xff' * 64)
# Inputs: a good one, a wrong shape, a Fortran-order one and a truncated one.
x = rng.standard_normal((5, 3)).astype(np.float32)
np.save(f'{d}/x.npy', x)
np.save(f'{d}/ref.npy', (x.astype(np.float64) @ w.astype(np.float64)).astype(np.float32))
np.save(f'{d}/x_wrong.npy', rng.standard_normal((5, 2)).astype(np.float32))
np.save(f'{d}/x_fortran.npy', np.asfortranarray(rng.standard_normal((5, 3)).astype(np.float32)))
b = open(f'{d}/x.npy', 'rb').read()
open(f'{d}/x_trunc.npy', 'wb').write(b[:-3])
open(f'{d}/x_badmagic.npy', 'wb').write(b'\x93NUMPZ' + b[6:])
EOF

# ---- Basics ---------------------------------------------------------------------------------
run_cli 0 "--version" --version && expect_grep "$TMP/stdout" '^cinfer [0-9]' "--version prints it"
run_cli 0 "help" help && expect_grep "$TMP/stdout" 'bench MODEL' "help lists the commands"
run_cli 0 "help run" help run && expect_grep "$TMP/stdout" -- '--shape' "help run lists --shape"
run_cli 0 "run --help" run --help
run_cli 2 "no arguments"
run_cli 2 "unknown command" frobnicate
run_cli 2 "unknown flag" run "$TMP/symbolic.onnx" --bogus
run_cli 2 "flag of another command" run "$TMP/symbolic.onnx" --json
run_cli 2 "missing flag value" run "$TMP/symbolic.onnx" --threads
run_cli 2 "bad --threads" run "$TMP/symbolic.onnx" --threads many
run_cli 2 "bad --shape" run "$TMP/symbolic.onnx" --shape x=2xy
run_cli 2 "bad --device" inspect "$TMP/symbolic.onnx" --device tpu
run_cli 2 "no model" run
run_cli 2 "--iterations with --duration" bench "$TMP/symbolic.onnx" --iterations 3 --duration 1

# ---- Bad model and input files --------------------------------------------------------------
run_cli 2 "missing model file" run "$TMP/nope.onnx"
run_cli 2 "truncated model" run "$TMP/truncated.onnx"
run_cli 2 "garbage model" inspect "$TMP/garbage.onnx"
run_cli 3 "unsupported op" run "$TMP/unsupported.onnx" && expect_grep "$TMP/stderr" 'NoSuchOp' \
    "unsupported message names the op"
run_cli 3 "inspect unsupported op" inspect "$TMP/unsupported.onnx"
run_cli 2 "truncated npy" run "$TMP/symbolic.onnx" -i "x=$TMP/x_trunc.npy" &&
    expect_grep "$TMP/stderr" 'x_trunc.npy' "truncated npy message names the file"
run_cli 2 "bad npy magic" run "$TMP/symbolic.onnx" -i "x=$TMP/x_badmagic.npy" &&
    expect_grep "$TMP/stderr" 'magic' "bad magic message names the field"
run_cli 2 "fortran-order npy" run "$TMP/symbolic.onnx" -i "x=$TMP/x_fortran.npy" &&
    expect_grep "$TMP/stderr" 'fortran_order' "fortran message names the field"
run_cli 2 "missing input file" run "$TMP/symbolic.onnx" -i "x=$TMP/none.npy"
run_cli 2 "input of the wrong shape" run "$TMP/symbolic.onnx" -i "x=$TMP/x_wrong.npy"
run_cli 2 "unknown input name" run "$TMP/symbolic.onnx" -i "nosuch=$TMP/x.npy" &&
    expect_grep "$TMP/stderr" "'x'" "unknown input message lists the inputs"
run_cli 2 "unknown --dim symbol" run "$TMP/symbolic.onnx" --dim nosuch=3
run_cli 2 "--shape of the wrong rank" run "$TMP/symbolic.onnx" --shape x=2x3x4
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "skip: --device cuda without a GPU (a GPU is present)"
else
    run_cli 1 "--device cuda without a GPU" run "$TMP/symbolic.onnx" --device cuda
fi

# ---- run: outputs against references ------------------------------------------------------
case_dir=$NODE/test_conv_with_strides_padding
if [ -d "$case_dir" ]; then
    ds=$case_dir/test_data_set_0
    run_cli 0 "run conv (.pb inputs)" run "$case_dir/model.onnx" -i "x=$ds/input_0.pb" \
        -i "W=$ds/input_1.pb" -o "$TMP/conv" &&
        compare "conv output vs output_0.pb" "$TMP/conv/y.npy" "$ds/output_0.pb"
    expect_grep "$TMP/stdout" "output 'y': float \[1x1x4x3\]" "run prints name, dtype, shape"
    expect_grep "$TMP/stdout" "min .* max .* mean" "run prints min, max, mean"
    # The same inputs as .npy, given by position.
    "$PY" -c "
import onnx, numpy as np
from onnx import numpy_helper
for i in (0, 1):
    t = onnx.TensorProto(); t.ParseFromString(open('$ds/input_%d.pb' % i, 'rb').read())
    np.save('$TMP/conv_in%d.npy' % i, numpy_helper.to_array(t))"
    run_cli 0 "run conv (.npy inputs by position)" run "$case_dir/model.onnx" \
        -i "$TMP/conv_in0.npy" -i "$TMP/conv_in1.npy" -o "$TMP/conv2" &&
        compare "conv output from .npy inputs" "$TMP/conv2/y.npy" "$ds/output_0.pb"
else
    echo "skip: $case_dir not found"
fi
for name in test_matmul_2d test_relu test_add_bcast test_gather_0; do
    case_dir=$NODE/$name
    [ -d "$case_dir" ] || continue
    ds=$case_dir/test_data_set_0
    args=""
    for f in "$ds"/input_*.pb; do args="$args -i $f"; done
    # shellcheck disable=SC2086
    if run_cli 0 "run $name" run "$case_dir/model.onnx" $args -o "$TMP/$name"; then
        out=$("$PY" -c "import onnx; print(onnx.load('$case_dir/model.onnx').graph.output[0].name)")
        compare "$name output vs output_0.pb" "$TMP/$name/$out.npy" "$ds/output_0.pb"
    fi
done

run_cli 0 "run symbolic with an .npy input" run "$TMP/symbolic.onnx" -i "x=$TMP/x.npy" \
    -o "$TMP/sym" && compare "sanitized output file vs NumPy float64" "$TMP/sym/out_put_0.npy" \
    "$TMP/ref.npy"
expect_grep "$TMP/stdout" "output 'out/put:0': float \[5x4\]" "run prints the original name"

# Random inputs: the seed is printed and reproduces the run.
run_cli 0 "random input, --seed" run "$TMP/symbolic.onnx" --seed 1234 -o "$TMP/r1" &&
    expect_grep "$TMP/stderr" "^cinfer: input 'x' random (seed 1234)" "the seed is printed"
expect_grep "$TMP/stdout" "\[1x4\]" "symbolic dims default to 1"
# A symbolic dim guessed as 1 too small for the model: the error, then a hint naming it.
run_cli 2 "symbolic width left at 1" inspect "$TMP/pool_width.onnx" &&
    expect_grep "$TMP/stderr" "^cinfer: hint: .*the symbolic dims width to 1.*--dim" \
        "the hint names the guessed dim and --dim"
run_cli 0 "--dim width=6" run "$TMP/pool_width.onnx" --dim width=6 -o "$TMP/pw" &&
    expect_grep "$TMP/stdout" "\[1x3x8x5\]" "--dim sets the guessed dim"
run_cli 0 "same seed again" run "$TMP/symbolic.onnx" --seed 1234 -o "$TMP/r2"
run_cli 0 "another seed" run "$TMP/symbolic.onnx" --seed 99 -o "$TMP/r3"
py_check "a seed reproduces the inputs, another seed differs" "
import numpy as np
a, b, c = (np.load('$TMP/r%d/out_put_0.npy' % i) for i in (1, 2, 3))
assert np.array_equal(a, b) and not np.array_equal(a, c)
assert np.abs(a).max() > 0"
run_cli 0 "--dim batch=6" run "$TMP/symbolic.onnx" --dim batch=6 --seed 1 &&
    expect_grep "$TMP/stdout" "\[6x4\]" "--dim sets the symbolic dimension"
run_cli 0 "--shape x=2x3" run "$TMP/symbolic.onnx" --shape x=2x3 --seed 1 &&
    expect_grep "$TMP/stdout" "\[2x4\]" "--shape sets the whole input"
run_cli 0 "random int64 ids" run "$TMP/ids.onnx" --dim seq=50 --seed 5 -o "$TMP/ids" &&
    expect_grep "$TMP/stderr" "\[0, 100)" "the integer range is noted"
py_check "random ids index the table (values in [0, 100))" "
import numpy as np
e = np.load('$TMP/ids/emb.npy')
assert e.shape == (50, 2) and np.isfinite(e).all() and len(np.unique(e[:, 0])) > 10"

run_cli 0 "random mask and token types" run "$TMP/bert_inputs.onnx" --dim batch=64 --dim seq=40 \
    --seed 3 -o "$TMP/bi" &&
    expect_grep "$TMP/stderr" "'attention_mask'.*1s then 0s in each row" "the mask's values are noted"
py_check "a random attention mask keeps a prefix of each row (row 0 whole), token types 0/1" "
import numpy as np
m, t = np.load('$TMP/bi/mask_out.npy'), np.load('$TMP/bi/types_out.npy')
assert m.shape == (64, 40) and set(np.unique(m)) <= {0.0, 1.0} and m[0].all()
keep = m.sum(axis=1)
assert (keep >= 1).all() and len(np.unique(keep)) > 5
assert all((row[:int(k)] == 1).all() and (row[int(k):] == 0).all() for row, k in zip(m, keep))
assert set(np.unique(t)) == {0.0, 1.0}"

# ---- inspect --------------------------------------------------------------------------------
run_cli 0 "inspect" inspect "$TMP/symbolic.onnx" --dim batch=8
for pat in "batch x 3" "MatMul" "parameters: .*12" "FLOPs" "arena" "naive" "peak" \
    "arena/peak" "steps" "Conv+BatchNormalization"; do
    expect_grep "$TMP/stdout" "$pat" "inspect shows '$pat'"
done
expect_grep "$TMP/stdout" "\[8x3\]" "inspect plans with --dim"

# ---- bench ----------------------------------------------------------------------------------
run_cli 0 "bench --json" bench "$TMP/symbolic.onnx" --batch 4 --iterations 20 --warmup 2 --json \
    --threads 1 &&
    py_check "bench --json prints only one JSON object" "
import json
j = json.load(open('$TMP/stdout'))
for k in ('model', 'device', 'batch', 'threads', 'iterations', 'throughput_per_s', 'latency_ms'):
    assert k in j, k
l = j['latency_ms']
assert j['batch'] == 4 and j['iterations'] == 20 and j['threads'] == 1, j
assert 0 < l['min'] <= l['p50'] <= l['p90'] <= l['p99'] <= l['max'], l
assert j['throughput_per_s'] > 0"
run_cli 0 "bench --duration" bench "$TMP/symbolic.onnx" --duration 0.2 --warmup 1 &&
    expect_grep "$TMP/stdout" "samples/s" "bench prints throughput" &&
    expect_grep "$TMP/stdout" "p99" "bench prints percentiles"

echo "test_cli.sh: $((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
