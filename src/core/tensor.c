/* dtype table and tensor helpers shared by the importer, the planner and the backends. */
#include "core/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

const char *cinfer_dtype_name(cinfer_dtype dtype) {
    switch (dtype) {
    case CINFER_DTYPE_FLOAT: return "float";
    case CINFER_DTYPE_UINT8: return "uint8";
    case CINFER_DTYPE_INT8: return "int8";
    case CINFER_DTYPE_UINT16: return "uint16";
    case CINFER_DTYPE_INT16: return "int16";
    case CINFER_DTYPE_INT32: return "int32";
    case CINFER_DTYPE_INT64: return "int64";
    case CINFER_DTYPE_STRING: return "string";
    case CINFER_DTYPE_BOOL: return "bool";
    case CINFER_DTYPE_FLOAT16: return "float16";
    case CINFER_DTYPE_DOUBLE: return "double";
    case CINFER_DTYPE_UINT32: return "uint32";
    case CINFER_DTYPE_UINT64: return "uint64";
    case CINFER_DTYPE_BFLOAT16: return "bfloat16";
    default: return "undefined";
    }
}

size_t cinfer_dtype_size(cinfer_dtype dtype) {
    switch (dtype) {
    case CINFER_DTYPE_UINT8: case CINFER_DTYPE_INT8: case CINFER_DTYPE_BOOL: return 1;
    case CINFER_DTYPE_UINT16: case CINFER_DTYPE_INT16: case CINFER_DTYPE_FLOAT16:
    case CINFER_DTYPE_BFLOAT16: return 2;
    case CINFER_DTYPE_FLOAT: case CINFER_DTYPE_INT32: case CINFER_DTYPE_UINT32: return 4;
    case CINFER_DTYPE_INT64: case CINFER_DTYPE_DOUBLE: case CINFER_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

int64_t cinfer__numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

int64_t cinfer_tensor_numel(const cinfer_tensor *t) { return cinfer__numel(t->rank, t->dims); }

size_t cinfer__tensor_bytes(const cinfer_tensor *t) {
    return (size_t)cinfer_tensor_numel(t) * cinfer_dtype_size(t->dtype);
}

void cinfer_tensor_release(cinfer_tensor *t) {
    if (!t) return;
    if (t->flags & CINFER_TENSOR_RUNTIME_OWNED) cinfer__aligned_free(t->data);
    t->data = NULL;
    t->flags = 0;
}

void cinfer__strides(int rank, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

bool cinfer__same_shape(const cinfer_tensor *a, const cinfer_tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

char *cinfer__shape_str(int rank, const int64_t *dims, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? "x%lld" : "%lld", (long long)dims[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

bool cinfer__norm_axis(int64_t axis, int rank, int *out) {
    if (axis < -rank || axis >= rank) return false;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

bool cinfer__broadcast_shapes(int n, const cinfer_tensor *const *ins, int *out_rank,
                              int64_t *out_dims) {
    int rank = 0;
    for (int k = 0; k < n; k++)
        if (ins[k] && ins[k]->rank > rank) rank = ins[k]->rank;
    for (int i = 0; i < rank; i++) out_dims[i] = 1;
    for (int k = 0; k < n; k++) {
        if (!ins[k]) continue;
        int off = rank - ins[k]->rank;
        for (int i = 0; i < ins[k]->rank; i++) {
            int64_t d = ins[k]->dims[i], *o = &out_dims[off + i];
            if (d == *o || d == 1) continue;
            if (*o == 1) *o = d;
            else return false;
        }
    }
    *out_rank = rank;
    return true;
}

bool cinfer__dtype_is_float(cinfer_dtype dt) {
    return dt == CINFER_DTYPE_FLOAT || dt == CINFER_DTYPE_DOUBLE || dt == CINFER_DTYPE_FLOAT16 ||
           dt == CINFER_DTYPE_BFLOAT16;
}

bool cinfer__dtype_is_int(cinfer_dtype dt) {
    switch (dt) {
    case CINFER_DTYPE_UINT8: case CINFER_DTYPE_INT8: case CINFER_DTYPE_UINT16:
    case CINFER_DTYPE_INT16: case CINFER_DTYPE_INT32: case CINFER_DTYPE_INT64:
    case CINFER_DTYPE_UINT32: case CINFER_DTYPE_UINT64: return true;
    default: return false;
    }
}

int64_t cinfer__get_i64(const cinfer_tensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case CINFER_DTYPE_INT64: return ((const int64_t *)p)[i];
    case CINFER_DTYPE_INT32: return ((const int32_t *)p)[i];
    case CINFER_DTYPE_INT16: return ((const int16_t *)p)[i];
    case CINFER_DTYPE_INT8: return ((const int8_t *)p)[i];
    case CINFER_DTYPE_UINT8: case CINFER_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case CINFER_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case CINFER_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case CINFER_DTYPE_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return (int64_t)cinfer__get_f64(t, i);
    }
}

double cinfer__get_f64(const cinfer_tensor *t, int64_t i) {
    const void *p = t->data;
    switch (t->dtype) {
    case CINFER_DTYPE_FLOAT: return ((const float *)p)[i];
    case CINFER_DTYPE_DOUBLE: return ((const double *)p)[i];
    case CINFER_DTYPE_FLOAT16: return cinfer__half_to_float(((const uint16_t *)p)[i]);
    case CINFER_DTYPE_BFLOAT16: return cinfer__bf16_to_float(((const uint16_t *)p)[i]);
    case CINFER_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    default: return (double)cinfer__get_i64(t, i);
    }
}

float cinfer__half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        float f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t cinfer__float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t man = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)exp << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

float cinfer__bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t cinfer__float_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

cinfer_status cinfer__tensor_clone(const cinfer_tensor *src, cinfer_tensor *dst, cinfer__err *err) {
    *dst = *src;
    dst->flags = 0;
    size_t bytes = cinfer__tensor_bytes(src);
    dst->data = cinfer__aligned_alloc(bytes);
    if (!dst->data)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory copying a %zu-byte tensor",
                              bytes);
    if (bytes) memcpy(dst->data, src->data, bytes);
    return CINFER_OK;
}

void cinfer__tensor_free_data(cinfer_tensor *t) {
    cinfer__aligned_free(t->data);
    t->data = NULL;
}
