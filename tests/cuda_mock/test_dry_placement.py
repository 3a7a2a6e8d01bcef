"""The real CUDA module's placement of whole zoo models, on a machine without a GPU: through the
dry module (dry_module.c), which asks libcinfer-cuda.so the plan-time questions (supports,
runs_in, half_io, layout_io) and fakes the device, `cinfer inspect --device cuda` shows what a
GPU run would plan. Checked at fp16 (models from tools/zoo/gen_zoo.py, made here with torch):
- resnet18: every step on the GPU; channels last stores exactly the outputs of its Conv,
  FusedConv and MaxPool steps (every 4-D value from the first convolution to the global pool;
  docs/cuda-backend.md, "Channels last") and marks those steps `nhwc`; none with --no-nhwc;
  no channels-last line at fp32;
- bert_small: every step on the GPU, nothing channels last, 4 packed-heads Attentions and no
  Transpose left, the 4 also reading Q, K and V from the fused projection (row form) with no
  Slice step left, its GEMMs, Attention and SkipLayerNorm computing in fp16;
- resnet18 stored in fp16 (and in bf16; tests/e2e/test_half_models.py converts it): every step
  on the GPU at fp16 (bf16), the boundary Casts running in 16 bits (copies), and as many values
  NHWC as the float model;
- recsys_tiny: every step on the GPU;
and every step of all three on the GPU at fp32 too. Also the small CNNs of
tests/gpu/make_precision_models.py store as many values NHWC at fp16 and bf16 as
test_cuda_precision.c requires on a GPU, so that test's counts are checked here first.
Usage: test_dry_placement.py CINFER DRY_MODULE REAL_MODULE"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "zoo"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))


def main():
    cinfer, dry, real = sys.argv[1:4]
    env = dict(os.environ, CINFER_CUDA_MODULE=dry, CINFER_DRY_REAL_MODULE=real)
    failures = []

    def expect(ok, what, out=""):
        if not ok:
            failures.append(what)
            print(f"FAIL {what}\n{out}")

    def inspect(path, *flags):
        r = subprocess.run([cinfer, "inspect", path, "--device", "cuda", *flags],
                           capture_output=True, text=True, env=env, timeout=300)
        expect(r.returncode == 0, f"inspect {os.path.basename(path)} {' '.join(flags)}: exit "
               f"{r.returncode}", r.stdout + r.stderr)
        return r.stdout

    def all_on_gpu(out, name):
        m = re.search(r"^placement \(cuda\): (\d+) of (\d+) steps on the GPU, (\d+) on the CPU",
                      out, re.M)
        expect(m and m.group(1) == m.group(2) and m.group(3) == "0",
               f"{name}: not every step on the GPU", out)

    def nhwc_values(out):
        m = re.search(r"^channels last: (\d+) values", out, re.M)
        return int(m.group(1)) if m else None

    try:
        import gen_zoo
    except ImportError as e:  # torch is part of the test dependencies (tools/setup)
        print(f"FAIL cannot import tools/zoo/gen_zoo.py: {e}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for fam in ("resnet18", "bert_small", "recsys_tiny"):
            paths[fam] = os.path.join(tmp, fam + ".onnx")
            gen_zoo.export(fam, 17, paths[fam])

        out = inspect(paths["resnet18"], "--precision", "fp16")
        all_on_gpu(out, "resnet18 fp16")
        hist = dict((op, int(n)) for op, n in re.findall(r"^  (Conv|FusedConv|MaxPool) +(\d+)$",
                                                         out, re.M))
        want = sum(hist.values())
        expect(len(hist) == 3 and nhwc_values(out) == want,
               f"resnet18 fp16: {nhwc_values(out)} values NHWC, want {want} (the outputs of "
               f"{hist})", out)
        steps = re.findall(r"^  \S+ +(Conv|FusedConv|MaxPool) +cuda fp16( nhwc)?$", out, re.M)
        expect(len(steps) == want and all(mark for _, mark in steps),
               "resnet18 fp16: a Conv, FusedConv or MaxPool step not marked nhwc", out)
        for kind in ("fp16", "bf16"):  # the same model stored in 16 bits
            import onnx
            import test_half_models
            half, _ = test_half_models.convert(onnx.load(paths["resnet18"]), kind)
            hp = os.path.join(tmp, "resnet18_" + kind + ".onnx")
            onnx.save(half, hp)
            hout = inspect(hp, "--precision", kind)
            all_on_gpu(hout, f"resnet18 stored in {kind}")
            expect(nhwc_values(hout) == want,
                   f"resnet18 stored in {kind}: {nhwc_values(hout)} values NHWC, want {want}", hout)
            casts = re.findall(r"^  \S+ +Cast +cuda (\S+)", hout, re.M)
            expect(casts and all(p == kind for p in casts),
                   f"resnet18 stored in {kind}: boundary Casts not copies in {kind} ({casts})", hout)
            # No --precision: the default (stored) is the file's own 16-bit type.
            dout = inspect(hp)
            expect(f"precision: {kind} " in dout and f"stored in {kind}:" in dout and
                   nhwc_values(dout) == want,
                   f"resnet18 stored in {kind}, default precision: not {kind} with {want} "
                   "values NHWC", dout)
            fout = inspect(hp, "--precision", "fp32")
            steps = re.findall(r"^  \S+ +\S+ +cuda (\S+)", fout, re.M)
            expect("precision: fp32 " in fout and steps and all(p == "fp32" for p in steps),
                   f"resnet18 stored in {kind}, --precision fp32: steps not all fp32", fout)
        out = inspect(paths["resnet18"], "--precision", "fp16", "--no-nhwc")
        expect(nhwc_values(out) == 0, "resnet18 fp16 --no-nhwc: values NHWC", out)
        out = inspect(paths["resnet18"])
        expect(nhwc_values(out) is None, "resnet18 fp32: a channels-last line", out)

        out = inspect(paths["bert_small"], "--precision", "fp16")
        all_on_gpu(out, "bert_small fp16")
        expect(nhwc_values(out) == 0, "bert_small fp16: values NHWC", out)
        for op in ("FusedMatMul", "Attention", "SkipLayerNorm"):
            lines = re.findall(rf"^  \S+ +{op} +cuda (\S+)", out, re.M)
            expect(lines and all(p == "fp16" for p in lines),
                   f"bert_small fp16: {op} steps not all in fp16 ({lines})", out)
        # Its 4 layers' head split and merge (4 Transposes each) taken into Attention: the
        # module accepts the packed-heads layout, and no Transpose step is left.
        packed = re.search(r"head Transposes -> Attention \(packed heads\) +(\d+)", out)
        expect(packed and int(packed.group(1)) == 4 and
               not re.search(r"^  \S+ +Transpose +cuda", out, re.M),
               "bert_small fp16: not 4 packed-heads Attentions with no Transpose step left", out)
        rows = re.search(r"QKV Slices -> Attention \(row form\) +(\d+)", out)
        expect(rows and int(rows.group(1)) == 4 and
               not re.search(r"^  \S+ +Slice +cuda", out, re.M),
               "bert_small fp16: not 4 row-form Attentions with no Slice step left", out)

        out = inspect(paths["recsys_tiny"], "--precision", "fp16")
        all_on_gpu(out, "recsys_tiny fp16")
        for fam, path in sorted(paths.items()):  # and at fp32, the default
            all_on_gpu(inspect(path), f"{fam} fp32")

        cnn = os.path.join(tmp, "cnn")
        subprocess.run([sys.executable, os.path.join(HERE, "..", "gpu", "make_precision_models.py"),
                        cnn], check=True)
        want = {"convnet": 5, "convnet_scalar": 4, "convnet_z3": 0, "convnet_bcast": 5,
                "convnet_concat": 3, "convnet_up": 2,
                "convnet_resize": 2, "convnet_same": 2}  # as in test_cuda_precision.c
        for name, count in want.items():
            for prec in ("fp16", "bf16"):
                out = inspect(os.path.join(cnn, name + ".onnx"), "--precision", prec)
                all_on_gpu(out, f"{name} {prec}")
                expect(nhwc_values(out) == count,
                       f"{name} {prec}: {nhwc_values(out)} values NHWC, want {count}", out)
    print("FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
