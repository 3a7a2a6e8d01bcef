/* cinfer_k_copy_strided (kernels/copy.cu): the copy behind Slice, Concat, Split, Expand and
 * Transpose, against a byte-by-byte copy over the same coordinates made here.
 *
 * Its plan (merged dims, elements widened to 16 bytes where the innermost dim is contiguous in
 * both operands, 32-bit multiply-high dividers below 2^31 elements) is checked on the host with
 * `--plan` (CI: cuda.copy_plan, no device): the plan's own offset function (the kernel's decode,
 * compiled for the host too) must move exactly the reference's bytes, the BERT-shaped copies
 * must take the fast path, and the dividers must agree with 64-bit division up to 2^31. With a
 * device, the same cases run through the kernel and must equal the reference bitwise. */
#include "kernel_harness.h"

#define MAX_CASE_BYTES (1u << 22)

typedef struct copy_case {
    char what[160];
    cinfer_k_dims dims;
    cinfer_k_strides ds, ss;
    size_t esize;
    size_t dst_bytes, src_bytes;  /* whole buffers */
    size_t dst_off, src_off;      /* bytes from each buffer's start to coordinate 0 */
    int want_width;               /* when > 0: the width the plan must choose */
} copy_case;

/* The reference: every coordinate's element copied byte by byte. */
static void ref_copy(const copy_case *c, unsigned char *dst, const unsigned char *src) {
    int64_t n = cinfer_k_dims_count(&c->dims);
    for (int64_t i = 0; i < n; i++) {
        int64_t rest = i, od = 0, os = 0;
        for (int32_t d = c->dims.rank - 1; d >= 0; d--) {
            int64_t k = rest % c->dims.size[d];
            rest /= c->dims.size[d];
            od += k * c->ds.s[d];
            os += k * c->ss.s[d];
        }
        memcpy(dst + c->dst_off + od * (int64_t)c->esize, src + c->src_off + os * (int64_t)c->esize,
               c->esize);
    }
}

/* What the kernel does, on the host, through the plan's own offsets. */
static void plan_copy(const cinfer_k_copy_plan *p, unsigned char *dst, const unsigned char *src) {
    if (p->kind == CINFER_K_COPY_NONE) return;
    if (p->kind == CINFER_K_COPY_MEMCPY) {
        memcpy(dst, src, (size_t)p->n * (size_t)p->width);
        return;
    }
    for (int64_t i = 0; i < p->n; i++) {
        int64_t od, os;
        cinfer_k_copy_plan_offsets(p, i, &od, &os);
        memcpy(dst + od * p->width, src + os * p->width, (size_t)p->width);
    }
}

/* ---- cases ---------------------------------------------------------------------------------- */

static cinfer_k_strides dense_of(const int64_t *size, int32_t rank) {
    cinfer_k_dims d = {rank, {0}};
    for (int32_t i = 0; i < rank; i++) d.size[i] = size[i];
    return cinfer_k_dense_strides(&d);
}

/* y = x with axes permuted (y's dim d is x's perm[d]); x dense [size]. */
static copy_case transpose_case(const int64_t *size, const int32_t *perm, int32_t rank,
                                size_t esize, size_t src_off_elems, int want_width) {
    copy_case c;
    memset(&c, 0, sizeof c);
    cinfer_k_strides xs = dense_of(size, rank);
    c.dims.rank = rank;
    for (int32_t d = 0; d < rank; d++) {
        c.dims.size[d] = size[perm[d]];
        c.ss.s[d] = xs.s[perm[d]];
    }
    c.ds = cinfer_k_dense_strides(&c.dims);
    c.esize = esize;
    int64_t n = cinfer_k_dims_count(&c.dims);
    c.src_off = src_off_elems * esize;
    c.src_bytes = c.src_off + (size_t)n * esize;
    c.dst_bytes = (size_t)n * esize;
    c.want_width = want_width;
    int at = snprintf(c.what, sizeof c.what, "transpose %zuB [", esize);
    for (int32_t d = 0; d < rank; d++)
        at += snprintf(c.what + at, sizeof c.what - (size_t)at, "%s%lld", d ? "," : "",
                       (long long)size[d]);
    at += snprintf(c.what + at, sizeof c.what - (size_t)at, "] perm ");
    for (int32_t d = 0; d < rank; d++)
        at += snprintf(c.what + at, sizeof c.what - (size_t)at, "%d", perm[d]);
    snprintf(c.what + at, sizeof c.what - (size_t)at, " +%zu", src_off_elems);
    return c;
}

/* y (dense [out]) = x[start : start + out * step : step] per dim, x dense [in]; a negative step
 * starts at the end. */
static copy_case slice_case(const int64_t *in, const int64_t *out, const int64_t *start,
                            const int64_t *step, int32_t rank, size_t esize, int want_width) {
    copy_case c;
    memset(&c, 0, sizeof c);
    cinfer_k_strides xs = dense_of(in, rank);
    c.dims.rank = rank;
    int64_t first = 0;
    for (int32_t d = 0; d < rank; d++) {
        c.dims.size[d] = out[d];
        c.ss.s[d] = xs.s[d] * step[d];
        first += start[d] * xs.s[d];
    }
    c.ds = cinfer_k_dense_strides(&c.dims);
    c.esize = esize;
    c.src_off = (size_t)first * esize;
    int64_t nx = 1;
    for (int32_t d = 0; d < rank; d++) nx *= in[d];
    c.src_bytes = (size_t)nx * esize;
    c.dst_bytes = (size_t)cinfer_k_dims_count(&c.dims) * esize;
    c.want_width = want_width;
    snprintf(c.what, sizeof c.what, "slice %zuB rank %d out %lldx%lld.. step %lld,%lld..", esize,
             rank, (long long)out[0], (long long)(rank > 1 ? out[1] : 1), (long long)step[0],
             (long long)(rank > 1 ? step[1] : 1));
    return c;
}

/* One part of a Concat: x dense [part] written into y dense [whole] at `at` along axis. */
static copy_case concat_case(const int64_t *part, int32_t rank, int32_t axis, int64_t whole_axis,
                             int64_t at, size_t esize) {
    copy_case c;
    memset(&c, 0, sizeof c);
    int64_t whole[CINFER_K_MAX_RANK];
    for (int32_t d = 0; d < rank; d++) whole[d] = d == axis ? whole_axis : part[d];
    cinfer_k_strides ys = dense_of(whole, rank);
    c.dims.rank = rank;
    for (int32_t d = 0; d < rank; d++) c.dims.size[d] = part[d];
    c.ds = ys;
    c.ss = cinfer_k_dense_strides(&c.dims);
    c.esize = esize;
    c.dst_off = (size_t)(at * ys.s[axis]) * esize;
    int64_t nw = 1;
    for (int32_t d = 0; d < rank; d++) nw *= whole[d];
    c.dst_bytes = (size_t)nw * esize;
    c.src_bytes = (size_t)cinfer_k_dims_count(&c.dims) * esize;
    snprintf(c.what, sizeof c.what, "concat part %zuB rank %d axis %d at %lld of %lld", esize,
             rank, axis, (long long)at, (long long)whole_axis);
    return c;
}

/* Expand: x [size with ones where bcast has a bit] broadcast to [size]. */
static copy_case expand_case(const int64_t *size, int32_t rank, unsigned bcast, size_t esize) {
    copy_case c;
    memset(&c, 0, sizeof c);
    int64_t xsize[CINFER_K_MAX_RANK];
    for (int32_t d = 0; d < rank; d++) xsize[d] = (bcast >> d) & 1u ? 1 : size[d];
    cinfer_k_strides xs = dense_of(xsize, rank);
    c.dims.rank = rank;
    for (int32_t d = 0; d < rank; d++) {
        c.dims.size[d] = size[d];
        c.ss.s[d] = (bcast >> d) & 1u ? 0 : xs.s[d];
    }
    c.ds = cinfer_k_dense_strides(&c.dims);
    c.esize = esize;
    int64_t nx = 1;
    for (int32_t d = 0; d < rank; d++) nx *= xsize[d];
    c.src_bytes = (size_t)nx * esize;
    c.dst_bytes = (size_t)cinfer_k_dims_count(&c.dims) * esize;
    snprintf(c.what, sizeof c.what, "expand %zuB rank %d mask %x", esize, rank, bcast);
    return c;
}

static size_t random_esize(void) {
    static const size_t sizes[] = {1, 2, 4, 8};
    return sizes[irand(0, 3)];
}

/* The BERT-base shapes at small sizes (each width asserted), then random ones. */
static int make_cases(copy_case *out, int max) {
    int n = 0;
    /* [B, S, 3H] fused QKV output, chunk 1 of 3 -> [B, S, H] (H = 4 heads x 16): 16 bytes. */
    {
        int64_t in[8] = {2, 5, 3 * 64}, o[8] = {2, 5, 64}, st[8] = {0, 0, 64}, step[8] = {1, 1, 1};
        out[n++] = slice_case(in, o, st, step, 3, 2, 16);
    }
    /* Head split [B, S, h, d] -> [B, h, S, d], d = 16 halves (32 bytes): 16-byte moves. */
    {
        int64_t size[4] = {2, 5, 4, 16};
        int32_t perm[4] = {0, 2, 1, 3};
        out[n++] = transpose_case(size, perm, 4, 2, 0, 16);
        /* d = 12 halves (24 bytes): 8-byte moves; d = 3: element by element. */
        int64_t size12[4] = {2, 5, 4, 12}, size3[4] = {2, 5, 4, 3};
        out[n++] = transpose_case(size12, perm, 4, 2, 0, 8);
        out[n++] = transpose_case(size3, perm, 4, 2, 0, 2);
        /* A source 2 bytes off 16-byte alignment: no widening. */
        out[n++] = transpose_case(size, perm, 4, 2, 1, 2);
    }
    /* K^T as exported: [B, S, h, d] -> [B, h, d, S] (perm 0,2,3,1): element by element. */
    {
        int64_t size[4] = {2, 5, 4, 16};
        int32_t perm[4] = {0, 2, 3, 1};
        out[n++] = transpose_case(size, perm, 4, 2, 0, 2);
    }
    /* Reversed rows of floats (negative stride, contiguous inner): 16-byte moves. */
    {
        int64_t in[8] = {6, 8}, o[8] = {6, 8}, st[8] = {5, 0}, step[8] = {-1, 1};
        out[n++] = slice_case(in, o, st, step, 2, 4, 16);
    }
    while (n < max) {
        int kind = (int)irand(0, 3);
        int32_t rank = (int32_t)irand(1, 5);
        int64_t size[CINFER_K_MAX_RANK];
        for (int32_t d = 0; d < rank; d++) size[d] = irand(0, 9) ? irand(1, 9) : irand(10, 40);
        size_t es = random_esize();
        if (kind == 0) {
            int32_t perm[CINFER_K_MAX_RANK];
            for (int32_t d = 0; d < rank; d++) perm[d] = d;
            for (int32_t d = rank - 1; d > 0; d--) {
                int32_t j = (int32_t)irand(0, d), t = perm[d];
                perm[d] = perm[j], perm[j] = t;
            }
            out[n++] = transpose_case(size, perm, rank, es, (size_t)irand(0, 3), 0);
        } else if (kind == 1) {
            int64_t in[8] = {1, 1, 1, 1, 1, 1, 1, 1}, st[8] = {0}, step[8] = {0}, o[8] = {0};
            for (int32_t d = 0; d < rank; d++) {
                step[d] = irand(0, 2) ? 1 : (irand(0, 1) ? 2 : -1);
                o[d] = size[d];
                int64_t span = (o[d] - 1) * (step[d] < 0 ? -step[d] : step[d]) + 1;
                in[d] = span + irand(0, 4);
                int64_t lo = irand(0, in[d] - span);
                st[d] = step[d] < 0 ? lo + span - 1 : lo;
            }
            out[n++] = slice_case(in, o, st, step, rank, es, 0);
        } else if (kind == 2) {
            int32_t axis = (int32_t)irand(0, rank - 1);
            int64_t extra = irand(1, 6);
            out[n++] = concat_case(size, rank, axis, size[axis] + extra, irand(0, extra), es);
        } else {
            out[n++] = expand_case(size, rank, (unsigned)irand(0, (1 << rank) - 1), es);
        }
        if (out[n - 1].dst_bytes > MAX_CASE_BYTES || out[n - 1].src_bytes > MAX_CASE_BYTES) n--;
    }
    return n;
}

/* ---- checks --------------------------------------------------------------------------------- */

static unsigned char *host_buf(size_t bytes, int random) {
    unsigned char *p = hmalloc(bytes + 64);
    /* hmalloc is calloc: 16-byte aligned like cudaMalloc's 256, so alignments carry over. */
    for (size_t i = 0; i < bytes; i++) p[i] = random ? (unsigned char)rng_next() : OUT_BYTE;
    return p;
}

/* The plan on the host: its offsets must move exactly the reference's bytes. */
static void check_plan(const copy_case *c) {
    unsigned char *src = host_buf(c->src_bytes, 1);
    unsigned char *want = host_buf(c->dst_bytes, 0), *got = host_buf(c->dst_bytes, 0);
    ref_copy(c, want, src);
    cinfer_k_copy_plan p;
    if (cinfer_k_copy_plan_make(&p, got + c->dst_off, c->ds, src + c->src_off, c->ss, c->dims,
                                c->esize)) {
        failf("%s: plan rejected", c->what);
        return;
    }
    plan_copy(&p, got + c->dst_off, src + c->src_off);
    if (memcmp(got, want, c->dst_bytes))
        failf("%s: plan (kind %d, width %d, rank %d) moved other bytes than the reference",
              c->what, p.kind, p.width, p.dims.rank);
    if (c->want_width && (p.width != c->want_width || p.kind != CINFER_K_COPY_INDEX32))
        failf("%s: plan kind %d width %d, expected the 32-bit path with %d-byte moves", c->what,
              p.kind, p.width, c->want_width);
}

/* The dividers against 64-bit division, sizes up to 2^31 - 1 (no buffer: offsets only). */
static void check_dividers(void) {
    static const int64_t sizes[] = {1, 2, 3, 7, 64, 768, 1000, 65535, 65536, 100003,
                                    (1 << 20) + 1, 46341, 2147483647};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        /* [2^31 - 1 / size, size] with strides that keep it strided (the outer one doubled). */
        int64_t inner = sizes[k], outer = 2147483647 / inner;
        cinfer_k_dims dims = {2, {outer, inner}};
        cinfer_k_strides ds = {{inner, 1}}, ss = {{2 * inner, 1}};
        cinfer_k_copy_plan p;
        /* odd pointers: 1-byte elements, no widening */
        if (cinfer_k_copy_plan_make(&p, (void *)(uintptr_t)1, ds, (const void *)(uintptr_t)1, ss,
                                    dims, 1) ||
            (outer > 1 && p.kind != CINFER_K_COPY_INDEX32)) {
            failf("divider %lld: plan kind %d", (long long)inner, p.kind);
            continue;
        }
        for (int t = 0; t < 20000; t++) {
            /* Random elements, and the last and first of random rows: a divider that is
             * off shows at the multiples of the size. */
            int64_t i = (int64_t)(rng_next() % (uint64_t)p.n);
            if (t % 3) i = (i / inner) * inner + (t % 3 == 1 ? 0 : inner - 1);
            if (t < 2) i = t ? p.n - 1 : 0;
            int64_t od, os;
            cinfer_k_copy_plan_offsets(&p, i, &od, &os);
            int64_t r = i / inner, col = i % inner;
            if (od != r * inner + col || os != r * 2 * inner + col) {
                failf("divider %lld: element %lld at %lld/%lld, expected %lld/%lld",
                      (long long)inner, (long long)i, (long long)od, (long long)os,
                      (long long)(r * inner + col), (long long)(r * 2 * inner + col));
                break;
            }
        }
    }
    /* 2^31 elements or more: the 64-bit path. */
    cinfer_k_dims big = {2, {3, 1ll << 30}};
    cinfer_k_strides ds = {{1ll << 30, 1}}, ss = {{1ll << 31, 1}};
    cinfer_k_copy_plan p;
    if (cinfer_k_copy_plan_make(&p, (void *)(uintptr_t)1, ds, (const void *)(uintptr_t)1, ss, big,
                                1) ||
        p.kind != CINFER_K_COPY_INDEX64)
        failf("3 x 2^30 elements: plan kind %d, expected the 64-bit path", p.kind);
}

#define N_CASES 400

static void test_plan(void) {
    static copy_case cases[N_CASES];
    int n = make_cases(cases, N_CASES);
    for (int i = 0; i < n && !g_fail; i++) {
        check_plan(&cases[i]);
        release_all();
    }
    check_dividers();
}

/* One case through the kernel: bitwise equal to the reference, guard bytes untouched. */
static void run_on_device(const copy_case *c) {
    unsigned char *src = host_buf(c->src_bytes, 1), *want = host_buf(c->dst_bytes, 0);
    ref_copy(c, want, src);
    unsigned char *dsrc = d_in(src, c->src_bytes), *ddst = d_out(c->dst_bytes);
    if (!dsrc || !ddst) return;
    launched(cinfer_k_copy_strided(ddst + c->dst_off, c->ds, dsrc + c->src_off, c->ss, c->dims,
                                   c->esize, g_stream),
             c->what);
    if (memcmp(fetch(ddst, c->dst_bytes, c->what), want, c->dst_bytes))
        failf("%s: bytes differ from the reference", c->what);
    release_all();
}

static void test_copy_device(void) {
    static copy_case cases[N_CASES];
    int n = make_cases(cases, N_CASES);
    for (int i = 0; i < n && !g_fail; i++) run_on_device(&cases[i]);
}

/* A BERT-base-sized head split and QKV chunk ([8,128,12,64] fp16), bitwise. */
static void test_copy_device_large(void) {
    int64_t size[4] = {8, 128, 12, 64};
    int32_t perm[4] = {0, 2, 1, 3};
    copy_case cs[2];
    cs[0] = transpose_case(size, perm, 4, 2, 0, 16);
    int64_t in[8] = {8, 128, 3 * 768}, o[8] = {8, 128, 768}, st[8] = {0, 0, 1536},
            step[8] = {1, 1, 1};
    cs[1] = slice_case(in, o, st, step, 3, 2, 16);
    for (int i = 0; i < 2 && !g_fail; i++) {
        check_plan(&cs[i]);
        release_all();
        run_on_device(&cs[i]);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--plan")) { /* CI: the index math on the host */
        const char *env = getenv("CINFER_TEST_SEED");
        g_seed = env ? strtoull(env, NULL, 0) : 20261127u;
        g_rng = g_seed;
        g_test = "copy_plan";
        test_plan();
        release_all();
        printf("%s %s (CINFER_TEST_SEED=%llu)\n", g_test, g_fail ? "failed" : "passed",
               (unsigned long long)g_seed);
        return g_fail ? 1 : 0;
    }
    static const kernel_test tests[] = {
        {"copy_plan", test_plan},
        {"copy_strided", test_copy_device},
        {"copy_strided_large", test_copy_device_large},
    };
    return run_kernel_tests(tests, (int)(sizeof tests / sizeof tests[0]));
}
