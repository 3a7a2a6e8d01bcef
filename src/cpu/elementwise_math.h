/* Float32 exp, expm1, tanh and erf written as straight-line code (selects instead of branches,
 * no calls) so loops over them vectorize; accurate to a few float32 ulp. libm's versions are
 * scalar calls that block vectorization of the activation loops. */
#ifndef CINFER_CPU_ELEMENTWISE_MATH_H
#define CINFER_CPU_ELEMENTWISE_MATH_H

#include <stdint.h>
#include <string.h>

static inline float cinfer__pow2i(int32_t n) { /* 2^n for n in [-126, 127] */
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* e^x: x = n ln2 + r with |r| <= ln2/2, e^r by Cephes' expf polynomial, then 2^n applied in
 * two halves so results down in the subnormals and up to overflow (inf) come out right. */
static inline float cinfer__expf(float x) {
    x = x < -104.0f ? -104.0f : x;
    x = x > 89.0f ? 89.0f : x; /* NaN passes both clamps and the polynomial */
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (x * 1.44269504088896341f + round_magic) - round_magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t ni = (int32_t)n, n1 = ni / 2;
    return p * cinfer__pow2i(n1) * cinfer__pow2i(ni - n1);
}

/* e^x - 1 without the cancellation of cinfer__expf(x) - 1 near zero: a Taylor polynomial
 * for |x| < 0.5 (truncation error below 2^-26 relative). */
static inline float cinfer__expm1f(float x) {
    float big = cinfer__expf(x) - 1.0f;
    float p = 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    float small = x + x * x * p;
    return (x > -0.5f && x < 0.5f) ? small : big;
}

/* tanh: Cephes' odd polynomial for |x| < 0.625, else 1 - 2 / (e^2|x| + 1) with the sign. */
static inline float cinfer__tanhf(float x) {
    float a = x < 0 ? -x : x;
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = x + x * z * p;
    float big = 1.0f - 2.0f / (cinfer__expf(2.0f * a) + 1.0f);
    big = x < 0 ? -big : big;
    return a < 0.625f ? small : big;
}

/* erf(|x|) for |x| < 1 as x + x Q(x^2), and erfc(|x|) for |x| >= 1 as e^-x^2 G(1/|x|);
 * both polynomials are least-squares fits in double (erf within about 1.5 ulp in float; G
 * fitted for 1 <= |x| <= 25, past which e^-x^2 is 0 in float anyway). */
static inline float cinfer__erf_small(float a) {
    float z = a * a;
    float q = 7.933381857583299e-05f;
    q = q * z - 8.034813799895346e-4f;
    q = q * z + 5.191214848309755e-3f;
    q = q * z - 2.685539796948433e-2f;
    q = q * z + 1.128362566232681e-1f;
    q = q * z - 3.761262893676758e-1f;
    q = q * z + 1.283791661262512e-1f;
    return a + a * q;
}

static inline float cinfer__erfc_big(float a) {
    a = a < 1.0f ? 1.0f : a;
    float t = 1.0f / a;
    float g = -2.6494095101952553e-2f;
    g = g * t + 2.1242111921310425e-1f;
    g = g * t - 7.2186219692230225e-1f;
    g = g * t + 1.3645124435424805f;
    g = g * t - 1.5396428108215332f;
    g = g * t + 9.5614212751388550e-1f;
    g = g * t - 1.1337520182132721e-1f;
    g = g * t - 2.6720461249351501e-1f;
    g = g * t - 1.1483979178592563e-3f;
    g = g * t + 5.6423604488372803e-1f;
    g = g * t - 7.4284167794758100e-7f;
    return cinfer__expf(-a * a) * g;
}

static inline float cinfer__erff(float x) {
    float a = x < 0 ? -x : x;
    float r = a < 1.0f ? cinfer__erf_small(a) : 1.0f - cinfer__erfc_big(a);
    r = a != a ? a : r;
    return x < 0 ? -r : r;
}

/* 0.5 x (1 + erf(x / sqrt 2)); for x < 0 the bracket is erfc(|x| / sqrt 2), taken directly
 * so large negative inputs keep their relative accuracy. */
static inline float cinfer__gelu_erff(float x) {
    float a = (x < 0 ? -x : x) * 0.70710678118654752f;
    float small = cinfer__erf_small(a), big = cinfer__erfc_big(a);
    float one_plus;
    if (x >= 0) one_plus = 1.0f + (a < 1.0f ? small : 1.0f - big);
    else one_plus = a < 1.0f ? 1.0f - small : big;
    return 0.5f * x * one_plus;
}

/* GELU's tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
static inline float cinfer__gelu_tanhf(float v) {
    const float k = 0.79788456080286536f; /* sqrt(2 / pi) */
    return 0.5f * v * (1.0f + cinfer__tanhf(k * (v + 0.044715f * v * v * v)));
}

#endif
