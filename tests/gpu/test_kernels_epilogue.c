// CUDA kernel test for the convolution epilogue (kernels/epilogue.cu): y = relu?(y + bias[c] +
// z) in place, every combination of its optional parts, on odd sizes, against a float64 host
// reference; and in fp16 / bf16, where shapes and offsets take both the scalar kernel and the
// eight-wide one (16-byte accesses), bit for bit against the host doing the kernel's float
// arithmetic and rounding once. Without a device it prints "skipped: no CUDA device" and exits
// 77.
#include <stdbool.h>

#include "kernel_harness.h"

static void epilogue_case(int64_t batch, int64_t channels, int64_t spatial, bool bias, bool z,
                          bool relu) {
    char what[128];
    snprintf(what, sizeof what, "epilogue %lldx%lldx%lld bias %d z %d relu %d", (long long)batch,
             (long long)channels, (long long)spatial, bias, z, relu);
    size_t n = (size_t)(batch * channels * spatial);
    float *y = hmalloc(n * 4), *zh = hmalloc(n * 4), *bh = hmalloc((size_t)channels * 4);
    double *ref = hmalloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) y[i] = (float)urand(-2, 2), zh[i] = (float)urand(-2, 2);
    for (int64_t c = 0; c < channels; c++) bh[c] = (float)urand(-1, 1);
    for (size_t i = 0; i < n; i++) {
        // the kernel's float order: (y + bias) + z, then the clamp
        float v = y[i];
        if (bias) v += bh[(i / (size_t)spatial) % (size_t)channels];
        if (z) v += zh[i];
        ref[i] = relu && v < 0 ? 0.0 : (double)v;
    }
    // y is read and written in place: upload it into an output buffer with guard bytes
    float *dy = d_out_from(n * 4, y, n * 4, what);
    const float *db = bias ? d_in(bh, (size_t)channels * 4) : NULL;
    const float *dz = z ? d_in(zh, n * 4) : NULL;
    launched(cinfer_k_conv_epilogue_f32(dy, db, dz, batch, channels, spatial, relu, g_stream),
             what);
    check_f32(what, fetch(dy, n * 4, what), ref, n, 0.0, 0.0); // same float ops: exact
}

static void test_epilogue(void) {
    static const int64_t shapes[][3] = {{1, 1, 1}, {2, 3, 37}, {3, 64, 49}, {1, 7, 1031},
                                        {5, 129, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int mask = 1; mask < 8; mask++)
            epilogue_case(shapes[s][0], shapes[s][1], shapes[s][2], mask & 1, mask & 2,
                          mask & 4);
    // nothing to do: returns success without touching y
    launched(cinfer_k_conv_epilogue_f32(NULL, NULL, NULL, 2, 3, 4, 0, g_stream), "no-op");
    if (cinfer_k_conv_epilogue_f32(NULL, NULL, NULL, 2, 3, 4, 1, g_stream) == cudaSuccess)
        failf("a NULL y with work to do must be refused");
}

// 16-bit y and z; `shift` elements into their buffers (1: misaligned, the scalar kernel).
static void epilogue_half_case(cinfer_k_dtype t, int64_t batch, int64_t channels,
                               int64_t spatial, int shift, int mask) {
    bool bias = mask & 1, z = mask & 2, relu = mask & 4;
    char what[160];
    snprintf(what, sizeof what, "epilogue %s %lldx%lldx%lld shift %d bias %d z %d relu %d",
             t == CINFER_K_F16 ? "f16" : "bf16", (long long)batch, (long long)channels,
             (long long)spatial, shift, bias, z, relu);
    size_t n = (size_t)(batch * channels * spatial), all = n + (size_t)shift;
    uint16_t *y = hmalloc(all * 2), *zh = hmalloc(all * 2), *want = hmalloc(all * 2);
    float *bh = hmalloc((size_t)channels * 4);
    for (size_t i = 0; i < all; i++) {
        y[i] = half_bits(t, urand(-2, 2));
        zh[i] = half_bits(t, urand(-2, 2));
        want[i] = y[i];
    }
    for (int64_t c = 0; c < channels; c++) bh[c] = (float)urand(-1, 1);
    for (size_t i = 0; i < n; i++) {
        float v = (float)half_value(t, y[shift + i]);
        if (bias) v += bh[(i / (size_t)spatial) % (size_t)channels];
        if (z) v += (float)half_value(t, zh[shift + i]);
        if (relu) v = v < 0.0f ? 0.0f : v;
        want[shift + i] = half_bits(t, (double)v); /* a float is exact as a double */
    }
    uint16_t *dy = d_out_from(all * 2, y, all * 2, what);
    const float *db = bias ? d_in(bh, (size_t)channels * 4) : NULL;
    const uint16_t *dz = z ? d_in(zh, all * 2) : NULL;
    launched(cinfer_k_conv_epilogue(t, dy ? dy + shift : NULL, db, dz ? dz + shift : NULL, batch,
                                    channels, spatial, relu, g_stream),
             what);
    const uint16_t *got = fetch(dy, all * 2, what);
    for (size_t i = 0; got && i < all; i++)
        if (got[i] != want[i]) {
            failf("%s: element %zu is 0x%04x, expected 0x%04x", what, i, got[i], want[i]);
            break;
        }
}

static void test_epilogue_half(void) {
    /* spatial % 8 == 0 (eight-wide, one channel per group), spatial 1 with channels % 8 == 0
     * (eight-wide, eight channels: NHWC), and neither (scalar). */
    static const int64_t shapes[][3] = {{2, 16, 64}, {98, 32, 1}, {2, 16, 49}, {5, 12, 1},
                                        {3, 8, 8}};
    static const cinfer_k_dtype types[2] = {CINFER_K_F16, CINFER_K_BF16};
    for (int t = 0; t < 2; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int shift = 0; shift < 2; shift++)
                for (int mask = 1; mask < 8; mask++)
                    epilogue_half_case(types[t], shapes[s][0], shapes[s][1], shapes[s][2], shift,
                                       mask);
}

static const kernel_test k_tests[] = {
    {"conv_epilogue", test_epilogue},
    {"conv_epilogue_half", test_epilogue_half},
};

int main(void) {
    return run_kernel_tests(k_tests, (int)(sizeof k_tests / sizeof k_tests[0]));
}
