/* cinfer's packed sgemm: picks the micro-kernel for this CPU, packs operands into its panel
 * layout, and runs cache-blocked tiles over cinfer's pool. fp32 multiply-adds accumulate in
 * fp32 (one FMA chain per output element, k in order within a KC block). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

/* Portable micro-kernel: a 4 x 16 tile in plain loops (the compiler vectorizes them). */
#define GEN_MR 4
#define GEN_NR 16

static void ukr_generic(const cinfer__ukr *u) {
    float acc[GEN_MR][GEN_NR] = {{0}};
    int wp = u->nr; /* generic panels are unpadded (vector length 1) */
    const float *a = u->a, *b = u->b;
    for (int64_t k = 0; k < u->kc; k++, a += u->mr, b += wp)
        for (int i = 0; i < u->mr; i++)
            for (int j = 0; j < GEN_NR; j++) acc[i][j] += a[i] * (j < wp ? b[j] : 0.0f);
    for (int i = 0; i < u->mr; i++) {
        float *c = u->c + i * u->ldc;
        for (int j = 0; j < u->nr; j++) {
            float x = acc[i][j];
            if (u->accumulate) x += c[j];
            else x += (u->bias_r ? u->bias_r[i] : 0.0f) + (u->bias_c ? u->bias_c[j] : 0.0f);
            c[j] = u->relu && x < 0.0f ? 0.0f : x;
        }
    }
}

static const cinfer__sgemm_isa isa_avx512 = {"avx512", 8, 48, 16, cinfer__ukr_avx512};
static const cinfer__sgemm_isa isa_avx2 = {"avx2", 6, 16, 8, cinfer__ukr_avx2};
static const cinfer__sgemm_isa isa_generic = {"generic", GEN_MR, GEN_NR, 1, ukr_generic};
static const cinfer__sgemm_isa *isa_chosen;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static void isa_pick(void) {
    const char *force = getenv("CINFER_SGEMM_ISA");
    bool avx512 = false, avx2 = false;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    avx512 = __builtin_cpu_supports("avx512f");
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    if (force && strcmp(force, "generic") == 0) avx512 = avx2 = false;
    if (force && strcmp(force, "avx2") == 0) avx512 = false;
    isa_chosen = avx512 ? &isa_avx512 : avx2 ? &isa_avx2 : &isa_generic;
}

const cinfer__sgemm_isa *cinfer__sgemm_isa_get(void) {
    pthread_once(&isa_once, isa_pick);
    return isa_chosen;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

int64_t cinfer__pack_a_floats(int64_t m, int64_t k) { return m * k; }

int64_t cinfer__pack_b_floats(int64_t k, int64_t n) {
    return round_up(n, cinfer__sgemm_isa_get()->vl) * k;
}

void cinfer__pack_a(const float *a, int64_t rs, int64_t cs, int64_t m, int64_t k, float *dst,
                    int64_t p0, int64_t p1) {
    const cinfer__sgemm_isa *isa = cinfer__sgemm_isa_get();
    int64_t mr = isa->mr;
    if (p1 > ceil_div(m, mr)) p1 = ceil_div(m, mr);
    for (int64_t p = p0; p < p1; p++) {
        int64_t r0 = p * mr, w = m - r0 < mr ? m - r0 : mr;
        float *d = dst + r0 * k;
        const float *src = a + r0 * rs;
        if (rs == 1) {
            for (int64_t j = 0; j < k; j++) memcpy(d + j * w, src + j * cs, (size_t)w * 4);
            continue;
        }
        if (cs == 1 && w == 8 && isa == &isa_avx512) {
            cinfer__pack_a8_avx512(src, rs, k, d);
            continue;
        }
        /* Row-major source: read 4 k's of every row, write them as 4 consecutive rows. */
        int64_t j = 0;
        for (; j + 4 <= k; j += 4)
            for (int64_t i = 0; i < w; i++) {
                const float *s = src + i * rs + j * cs;
                d[j * w + i] = s[0];
                d[(j + 1) * w + i] = s[cs];
                d[(j + 2) * w + i] = s[2 * cs];
                d[(j + 3) * w + i] = s[3 * cs];
            }
        for (; j < k; j++)
            for (int64_t i = 0; i < w; i++) d[j * w + i] = src[i * rs + j * cs];
    }
}

void cinfer__pack_b(const float *b, int64_t rs, int64_t cs, int64_t k, int64_t n, float *dst,
                    int64_t q0, int64_t q1) {
    const cinfer__sgemm_isa *isa = cinfer__sgemm_isa_get();
    if (q1 > ceil_div(n, isa->nr)) q1 = ceil_div(n, isa->nr);
    for (int64_t q = q0; q < q1; q++) {
        int64_t c0 = q * isa->nr, nc = n - c0 < isa->nr ? n - c0 : isa->nr;
        int64_t wp = round_up(nc, isa->vl);
        float *d = dst + c0 * k;
        const float *src = b + c0 * cs;
        for (int64_t i = 0; i < k; i++, d += wp) {
            const float *s = src + i * rs;
            if (cs == 1) memcpy(d, s, (size_t)nc * 4);
            else
                for (int64_t j = 0; j < nc; j++) d[j] = s[j * cs];
            for (int64_t j = nc; j < wp; j++) d[j] = 0.0f;
        }
    }
}

void cinfer__pack_b_zero_pad(float *dst, int64_t k, int64_t n, int64_t row) {
    const cinfer__sgemm_isa *isa = cinfer__sgemm_isa_get();
    int64_t c0 = (n - 1) / isa->nr * isa->nr, nc = n - c0, wp = round_up(nc, isa->vl);
    for (int64_t j = nc; j < wp; j++) dst[c0 * k + row * wp + j] = 0.0f;
}

typedef struct pack_job {
    const float *src;
    int64_t rs, cs, rows, cols;
    float *dst;
} pack_job;

static void pack_a_range(void *arg, int64_t p0, int64_t p1) {
    const pack_job *j = arg;
    cinfer__pack_a(j->src, j->rs, j->cs, j->rows, j->cols, j->dst, p0, p1);
}

static void pack_b_range(void *arg, int64_t q0, int64_t q1) {
    const pack_job *j = arg;
    cinfer__pack_b(j->src, j->rs, j->cs, j->rows, j->cols, j->dst, q0, q1);
}

/* Below this many floats a pack runs on the calling thread. */
#define PACK_PAR_MIN (1 << 15)

void cinfer__pack_a_par(cinfer__pool *pool, const float *a, int64_t rs, int64_t cs, int64_t m,
                        int64_t k, float *dst) {
    pack_job j = {a, rs, cs, m, k, dst};
    int64_t panels = ceil_div(m, cinfer__sgemm_isa_get()->mr);
    if (m * k < PACK_PAR_MIN) pack_a_range(&j, 0, panels);
    else cinfer__parallel_for(pool, panels, 1, pack_a_range, &j);
}

void cinfer__pack_b_par(cinfer__pool *pool, const float *b, int64_t rs, int64_t cs, int64_t k,
                        int64_t n, float *dst) {
    pack_job j = {b, rs, cs, k, n, dst};
    int64_t panels = ceil_div(n, cinfer__sgemm_isa_get()->nr);
    if (n * k < PACK_PAR_MIN) pack_b_range(&j, 0, panels);
    else cinfer__parallel_for(pool, panels, 1, pack_b_range, &j);
}

/* Cache blocking: a KC-deep slice of an MB x NB block of C per step; the A micro-panel
 * (MR x KC) stays in L1 while the B slice (KC x NB) streams from L2. */
#define KC 256
#define MB_ROWS 64
#define NB_COLS 192
/* When B is packed per block (im2col) wider blocks amortize the packer's per-row setup. */
#define NB_PACKED 384
/* Below this many multiply-adds one thread is faster than waking the pool. */
#define PAR_MIN_MACS ((int64_t)1 << 17)

int64_t cinfer__gemm_b_scratch_floats(int threads) {
    return (int64_t)(threads < 1 ? 1 : threads) * KC * NB_PACKED;
}

typedef struct gemm_job {
    const cinfer__gemm_args *g;
    const cinfer__sgemm_isa *isa;
    int64_t mp, mbp, mblocks, ncols, nblocks, kc, jobs; /* M in panels, N in columns */
    atomic_llong next; /* with pack_b: the next unclaimed job */
} gemm_job;

/* One block of C: row panels [ip0, ip1) x columns [n0, n1) of batch bi, over all of K in KC
 * slices. With pack_b the B slice is packed here into buf first (its panels start at n0, so a
 * block need not start on a panel of the whole matrix); a prepacked B's blocks do. */
static void gemm_block(gemm_job *j, int64_t job, float *buf) {
    const cinfer__gemm_args *g = j->g;
    const cinfer__sgemm_isa *isa = j->isa;
    int64_t bi = job / (j->mblocks * j->nblocks), rest = job % (j->mblocks * j->nblocks);
    int64_t ip0 = rest % j->mblocks * j->mbp, n0 = rest / j->mblocks * j->ncols;
    int64_t ip1 = ip0 + j->mbp < j->mp ? ip0 + j->mbp : j->mp;
    int64_t n1 = n0 + j->ncols < g->n ? n0 + j->ncols : g->n;
    const float *A = g->a + bi * g->a_stride, *B = buf;
    float *C = g->c + bi * g->c_stride;
    cinfer__ukr u = {.ldc = g->ldc};
    for (int64_t k0 = 0; k0 < g->k; k0 += j->kc) {
        u.kc = g->k - k0 < j->kc ? g->k - k0 : j->kc;
        u.accumulate = g->accumulate || k0 > 0;
        u.relu = g->relu && k0 + u.kc >= g->k;
        int64_t bk = u.kc; /* packed B row count: the slice's, or all of K */
        if (g->pack_b) {
            g->pack_b(g->pack_ctx, bi, k0, u.kc, n0, n1 - n0, buf);
        } else {
            B = g->b + bi * g->b_stride + n0 * g->k;
            bk = g->k;
        }
        for (int64_t ip = ip0; ip < ip1; ip++) {
            int64_t r0 = ip * isa->mr;
            u.mr = (int)(g->m - r0 < isa->mr ? g->m - r0 : isa->mr);
            u.a = A + r0 * g->k + k0 * u.mr;
            u.bias_r = g->bias_r ? g->bias_r + r0 : NULL;
            for (int64_t c0 = n0; c0 < n1; c0 += isa->nr) {
                u.nr = (int)(n1 - c0 < isa->nr ? n1 - c0 : isa->nr);
                u.b = B + (c0 - n0) * bk + (g->pack_b ? 0 : k0 * round_up(u.nr, isa->vl));
                u.c = C + r0 * g->ldc + c0;
                u.bias_c = g->bias_c ? g->bias_c + c0 : NULL;
                isa->kernel(&u);
            }
        }
    }
    if (g->epilogue) {
        int64_t r0 = ip0 * isa->mr, r1 = ip1 * isa->mr < g->m ? ip1 * isa->mr : g->m;
        g->epilogue(g->epilogue_ctx, C + r0 * g->ldc + n0, g->ldc, r1 - r0, n1 - n0);
    }
}

static void gemm_range(void *arg, int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; job++) gemm_block(arg, job, NULL);
}

/* With pack_b: slot s claims jobs one at a time and packs into its own slice of scratch. */
static void gemm_slots(void *arg, int64_t s0, int64_t s1) {
    gemm_job *j = arg;
    for (int64_t s = s0; s < s1; s++) {
        float *buf = j->g->b_scratch + s * KC * NB_PACKED;
        for (int64_t job; (job = atomic_fetch_add(&j->next, 1)) < j->jobs;) gemm_block(j, job, buf);
    }
}

/* Block sizes: the cache-friendly default, halved (N first) until every thread gets a few
 * blocks. When B is packed per block, a block spans all of M (its columns are packed once)
 * unless that leaves too few blocks. Blocks start on whole panels: C stores then stay
 * vector aligned along the rows. (Uneven blocks, or M split before N, were measured slower:
 * they repeat either the weights' streaming or the columns' packing.) */
static void gemm_partition(gemm_job *j, int threads) {
    const cinfer__gemm_args *g = j->g;
    int64_t nr = j->isa->nr, np = ceil_div(g->n, nr);
    j->mp = ceil_div(g->m, j->isa->mr);
    j->mbp = g->pack_b ? j->mp : MB_ROWS / j->isa->mr > 0 ? MB_ROWS / j->isa->mr : 1;
    int64_t nb = (g->pack_b ? NB_PACKED : NB_COLS) / nr, nbp = nb > 0 ? nb : 1;
    int64_t want = (g->pack_b ? 2 : 4) * threads;
    for (;;) {
        j->mblocks = ceil_div(j->mp, j->mbp);
        j->nblocks = ceil_div(np, nbp);
        if (threads <= 1 || g->batch * j->mblocks * j->nblocks >= want) break;
        if (nbp > 1) nbp = (nbp + 1) / 2;
        else if (j->mbp > 1) j->mbp = (j->mbp + 1) / 2;
        else break;
    }
    j->ncols = nbp * nr;
    j->jobs = g->batch * j->mblocks * j->nblocks;
    int64_t kb = ceil_div(g->k, KC);
    j->kc = kb > 0 ? ceil_div(g->k, kb) : 1;
}

/* C = biases (or unchanged when accumulating) when there is nothing to multiply. */
static void gemm_no_k(const cinfer__gemm_args *g) {
    for (int64_t bi = 0; bi < g->batch && !g->accumulate; bi++)
        for (int64_t i = 0; i < g->m; i++) {
            float *c = g->c + bi * g->c_stride + i * g->ldc;
            for (int64_t jj = 0; jj < g->n; jj++) {
                float x = (g->bias_r ? g->bias_r[i] : 0.0f) + (g->bias_c ? g->bias_c[jj] : 0.0f);
                c[jj] = g->relu && x < 0.0f ? 0.0f : x;
            }
        }
    for (int64_t bi = 0; bi < g->batch; bi++) {
        float *c = g->c + bi * g->c_stride;
        for (int64_t i = 0; i < g->m && g->relu && g->accumulate; i++)
            for (int64_t jj = 0; jj < g->n; jj++)
                if (c[i * g->ldc + jj] < 0.0f) c[i * g->ldc + jj] = 0.0f;
        if (g->epilogue) g->epilogue(g->epilogue_ctx, c, g->ldc, g->m, g->n);
    }
}

void cinfer__gemm_packed(cinfer__pool *pool, const cinfer__gemm_args *g) {
    if (g->m <= 0 || g->n <= 0 || g->batch <= 0) return;
    if (g->k <= 0) {
        gemm_no_k(g);
        return;
    }
    gemm_job j = {.g = g, .isa = cinfer__sgemm_isa_get()};
    int threads = g->m * g->n * g->k * g->batch >= PAR_MIN_MACS ? cinfer__cpu_threads(pool) : 1;
    gemm_partition(&j, threads);
    if (g->pack_b) {
        atomic_init(&j.next, 0);
        int64_t slots = threads < j.jobs ? threads : j.jobs;
        if (slots <= 1) gemm_slots(&j, 0, 1);
        else cinfer__parallel_for(pool, slots, 1, gemm_slots, &j);
    } else if (threads <= 1) {
        gemm_range(&j, 0, j.jobs);
    } else {
        cinfer__parallel_for(pool, j.jobs, 1, gemm_range, &j);
    }
}
