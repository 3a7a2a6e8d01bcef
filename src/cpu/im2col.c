/* im2col / col2im over up to 3 spatial dims, for GEMM-based Conv and ConvTranspose. */
#include <string.h>

#include "cpu/gemm.h"

/* Output positions o in [lo, hi) whose input position o*stride + offset lies in [0, in). */
static void valid_range(int64_t out, int64_t stride, int64_t offset, int64_t in, int64_t *lo,
                        int64_t *hi) {
    int64_t l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    int64_t h = in - 1 - offset < 0 ? 0 : (in - 1 - offset) / stride + 1;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}

/* One kernel tap of one channel: dst[od,oh,ow] = src[id,ih,iw] (zero outside the image). */
static void im2col_tap(const cinfer__im2col_geom *g, const float *src, float *dst,
                       const int64_t kk[3]) {
    int64_t off[3], lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        off[i] = kk[i] * g->dil[i] - g->pad[i];
        valid_range(g->out[i], g->stride[i], off[i], g->in[i], &lo[i], &hi[i]);
    }
    int64_t ow = g->out[2], plane = g->out[1] * ow, sw = g->stride[2];
    for (int64_t od = 0; od < g->out[0]; od++) {
        float *dplane = dst + od * plane;
        if (od < lo[0] || od >= hi[0]) {
            memset(dplane, 0, (size_t)plane * sizeof(float));
            continue;
        }
        const float *splane = src + (od * g->stride[0] + off[0]) * g->in[1] * g->in[2];
        for (int64_t oh = 0; oh < g->out[1]; oh++) {
            float *d = dplane + oh * ow;
            if (oh < lo[1] || oh >= hi[1]) {
                memset(d, 0, (size_t)ow * sizeof(float));
                continue;
            }
            /* Row of the image; x maps to column x*sw + off[2] (in range for lo..hi). */
            const float *s = splane + (oh * g->stride[1] + off[1]) * g->in[2];
            memset(d, 0, (size_t)lo[2] * sizeof(float));
            if (sw == 1)
                memcpy(d + lo[2], s + lo[2] + off[2], (size_t)(hi[2] - lo[2]) * sizeof(float));
            else
                for (int64_t x = lo[2]; x < hi[2]; x++) d[x] = s[x * sw + off[2]];
            memset(d + hi[2], 0, (size_t)(ow - hi[2]) * sizeof(float));
        }
    }
}

/* The adjoint of im2col_tap: dst image += src columns. */
static void col2im_tap(const cinfer__im2col_geom *g, const float *src, float *dst,
                       const int64_t kk[3]) {
    int64_t off[3], lo[3], hi[3];
    for (int i = 0; i < 3; i++) {
        off[i] = kk[i] * g->dil[i] - g->pad[i];
        valid_range(g->out[i], g->stride[i], off[i], g->in[i], &lo[i], &hi[i]);
    }
    int64_t ow = g->out[2], plane = g->out[1] * ow, sw = g->stride[2];
    for (int64_t od = lo[0]; od < hi[0]; od++) {
        float *dplane = dst + (od * g->stride[0] + off[0]) * g->in[1] * g->in[2];
        for (int64_t oh = lo[1]; oh < hi[1]; oh++) {
            const float *s = src + od * plane + oh * ow;
            float *d = dplane + (oh * g->stride[1] + off[1]) * g->in[2];
            for (int64_t x = lo[2]; x < hi[2]; x++) d[x * sw + off[2]] += s[x];
        }
    }
}

static void tap_of_row(const cinfer__im2col_geom *g, int64_t r, int64_t *c, int64_t kk[3]) {
    int64_t ksize = g->k[0] * g->k[1] * g->k[2];
    int64_t t = r % ksize;
    *c = r / ksize;
    kk[2] = t % g->k[2];
    kk[1] = t / g->k[2] % g->k[1];
    kk[0] = t / (g->k[2] * g->k[1]);
}

void cinfer__im2col(const cinfer__im2col_geom *g, const float *x, float *col, int64_t r0,
                    int64_t r1) {
    int64_t in_size = g->in[0] * g->in[1] * g->in[2];
    int64_t out_size = g->out[0] * g->out[1] * g->out[2];
    for (int64_t r = r0; r < r1; r++) {
        int64_t c, kk[3];
        tap_of_row(g, r, &c, kk);
        im2col_tap(g, x + c * in_size, col + r * out_size, kk);
    }
}

void cinfer__col2im(const cinfer__im2col_geom *g, const float *col, float *y, int64_t r0,
                    int64_t r1) {
    int64_t in_size = g->in[0] * g->in[1] * g->in[2];
    int64_t out_size = g->out[0] * g->out[1] * g->out[2];
    for (int64_t r = r0; r < r1; r++) {
        int64_t c, kk[3];
        tap_of_row(g, r, &c, kk);
        col2im_tap(g, col + r * out_size, y + c * in_size, kk);
    }
}
