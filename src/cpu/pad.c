/* CPU kernel of Pad: every output axis gets a map from output to input index (or -1 for the
 * constant), then output rows are filled by copying the contiguous middle and mapping edges. */
#include <string.h>

#include "core/tensor.h"
#include "cpu/cpu.h"
#include "ops/geometry.h"

#define ROW_BYTES_PER_CHUNK 16384

typedef enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

typedef struct pad_job {
    int rank;
    const char *src;
    char *dst;
    size_t es;
    int64_t out_dims[CINFER_MAX_RANK], in_strides[CINFER_MAX_RANK];
    const int64_t *map[CINFER_MAX_RANK]; /* per axis: out index -> in index, or -1 */
    int64_t mid_out, mid_in, mid_len;    /* last axis: the run copied with one memcpy */
    unsigned char value[16];             /* the constant, one element */
} pad_job;

static pad_mode mode_of(const cinfer__node *node) {
    const char *m = cinfer__attr_string(node, "mode", "constant");
    if (!strcmp(m, "reflect")) return PAD_REFLECT;
    if (!strcmp(m, "edge")) return PAD_EDGE;
    if (!strcmp(m, "wrap")) return PAD_WRAP;
    return PAD_CONSTANT;
}

/* Maps j (relative to the kept part of length m) into [0, m) as the mode says; -1 = constant. */
static int64_t map_index(int64_t j, int64_t m, pad_mode mode) {
    if (j >= 0 && j < m) return j;
    switch (mode) {
    case PAD_EDGE: return j < 0 ? 0 : m - 1;
    case PAD_WRAP: return ((j % m) + m) % m;
    case PAD_REFLECT: {
        if (m == 1) return 0;
        int64_t p = 2 * (m - 1);
        j = ((j % p) + p) % p;
        return j < m ? j : p - j;
    }
    default: return -1;
    }
}

/* Builds axis a's map: the input is first cropped by negative pads, then padded. */
static void build_map(int64_t *map, int64_t in_dim, int64_t begin, int64_t end, pad_mode mode) {
    int64_t lo = begin < 0 ? -begin : 0, m = in_dim - lo - (end < 0 ? -end : 0);
    int64_t pb = begin > 0 ? begin : 0, out_dim = in_dim + begin + end;
    for (int64_t o = 0; o < out_dim; o++) {
        int64_t j = map_index(o - pb, m, mode);
        map[o] = j < 0 ? -1 : lo + j;
    }
}

/* The constant of opset < 11 is a float attribute converted to the data type. */
static void value_from_double(cinfer_dtype dt, double v, unsigned char *out) {
    union { float f; double d; int64_t i64; int32_t i32; int16_t i16; int8_t i8; uint16_t u16;
            uint32_t u32; uint64_t u64; uint8_t u8; } u = {0};
    switch (dt) {
    case CINFER_DTYPE_FLOAT: u.f = (float)v; break;
    case CINFER_DTYPE_DOUBLE: u.d = v; break;
    case CINFER_DTYPE_FLOAT16: u.u16 = cinfer__float_to_half((float)v); break;
    case CINFER_DTYPE_BFLOAT16: u.u16 = cinfer__float_to_bf16((float)v); break;
    case CINFER_DTYPE_INT64: u.i64 = (int64_t)v; break;
    case CINFER_DTYPE_INT32: u.i32 = (int32_t)v; break;
    case CINFER_DTYPE_INT16: u.i16 = (int16_t)v; break;
    case CINFER_DTYPE_INT8: u.i8 = (int8_t)v; break;
    case CINFER_DTYPE_UINT64: u.u64 = (uint64_t)v; break;
    case CINFER_DTYPE_UINT32: u.u32 = (uint32_t)v; break;
    case CINFER_DTYPE_UINT16: u.u16 = (uint16_t)v; break;
    case CINFER_DTYPE_BOOL: u.u8 = v != 0; break;
    default: u.u8 = (uint8_t)v; break;
    }
    memcpy(out, &u, cinfer_dtype_size(dt));
}

static void fill(char *dst, const unsigned char *value, size_t es, int64_t n) {
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, value, es);
}

/* One output row (all axes but the last fixed by row number r). */
static void pad_row(const pad_job *j, int64_t r) {
    int last = j->rank - 1;
    int64_t w = j->out_dims[last], src_off = 0;
    char *dst = j->dst + (size_t)(r * w) * j->es;
    for (int a = last - 1; a >= 0; a--) {
        int64_t o = r % j->out_dims[a], i = j->map[a][o];
        r /= j->out_dims[a];
        if (i < 0) {
            fill(dst, j->value, j->es, w);
            return;
        }
        src_off += i * j->in_strides[a];
    }
    const char *src = j->src + (size_t)src_off * j->es;
    const int64_t *map = j->map[last];
    for (int64_t o = 0; o < j->mid_out; o++)
        if (map[o] < 0) memcpy(dst + (size_t)o * j->es, j->value, j->es);
        else memcpy(dst + (size_t)o * j->es, src + (size_t)map[o] * j->es, j->es);
    if (j->mid_len > 0)
        memcpy(dst + (size_t)j->mid_out * j->es, src + (size_t)j->mid_in * j->es,
               (size_t)j->mid_len * j->es);
    for (int64_t o = j->mid_out + j->mid_len; o < w; o++)
        if (map[o] < 0) memcpy(dst + (size_t)o * j->es, j->value, j->es);
        else memcpy(dst + (size_t)o * j->es, src + (size_t)map[o] * j->es, j->es);
}

static void pad_rows(void *arg, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) pad_row(arg, r);
}

static size_t pad_scratch(const cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *y = ctx->out[0];
    int64_t n = 0;
    for (int i = 0; i < y->rank; i++) n += y->dims[i];
    return (size_t)n * sizeof(int64_t);
}

static void set_value(pad_job *j, const cinfer__cpu_ctx *ctx, cinfer_dtype dt) {
    const cinfer_tensor *cv = ctx->n_in > 2 ? ctx->in[2] : NULL;
    memset(j->value, 0, sizeof j->value);
    if (ctx->node->opset < 11)
        value_from_double(dt, cinfer__attr_float(ctx->node, "value", 0.0f), j->value);
    else if (cv && cinfer_tensor_numel(cv) == 1)
        memcpy(j->value, cv->data, j->es);
}

static cinfer_status run_pad(cinfer__cpu_ctx *ctx) {
    const cinfer_tensor *x = ctx->in[0];
    cinfer_tensor *y = ctx->out[0];
    pad_job j = {.rank = x->rank, .src = x->data, .dst = y->data,
                 .es = cinfer_dtype_size(x->dtype)};
    int64_t begin[CINFER_MAX_RANK], end[CINFER_MAX_RANK];
    CINFER_TRY(cinfer__pad_amounts(ctx->node, ctx->in, ctx->n_in, x->rank, begin, end, ctx->err));
    set_value(&j, ctx, x->dtype);
    if (x->rank == 0) {
        memcpy(y->data, x->data, j.es);
        return CINFER_OK;
    }
    pad_mode mode = mode_of(ctx->node);
    int64_t *maps = ctx->scratch;
    cinfer__strides(x->rank, x->dims, j.in_strides);
    for (int a = 0; a < x->rank; a++) {
        j.out_dims[a] = y->dims[a];
        build_map(maps, x->dims[a], begin[a], end[a], mode);
        j.map[a] = maps;
        maps += y->dims[a];
    }
    int last = x->rank - 1;
    int64_t kept = x->dims[last] + (begin[last] < 0 ? begin[last] : 0) +
                   (end[last] < 0 ? end[last] : 0);
    j.mid_out = begin[last] > 0 ? begin[last] : 0;
    j.mid_in = begin[last] < 0 ? -begin[last] : 0;
    j.mid_len = kept;
    int64_t rows = cinfer__numel(last, y->dims), row_bytes = y->dims[last] * (int64_t)j.es;
    if (rows == 0 || row_bytes == 0) return CINFER_OK;
    int64_t grain = row_bytes >= ROW_BYTES_PER_CHUNK ? 1 : ROW_BYTES_PER_CHUNK / row_bytes;
    cinfer__parallel_for(ctx->pool, rows, grain, pad_rows, &j);
    return CINFER_OK;
}

const cinfer__cpu_kernel cinfer__cpu_pad[] = {
    {"Pad", "", NULL, pad_scratch, run_pad},
    {0},
};
