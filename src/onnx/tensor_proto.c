/* TensorProto -> cinfer_tensor: dtype, dims, and data from raw_data, typed fields or an
 * external file that must stay inside the model's directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/tensor.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_internal.h"

/* ---- dtype and shape ------------------------------------------------------------------ */

cinfer_status cinfer__onnx_dtype(int32_t elem_type, const char *what, cinfer_dtype *out,
                                 cinfer__err *err) {
    static const char *const unsupported[] = {
        [8] = "string", [14] = "complex64", [15] = "complex128", [17] = "float8e4m3fn",
        [18] = "float8e4m3fnuz", [19] = "float8e5m2", [20] = "float8e5m2fnuz", [21] = "uint4",
        [22] = "int4", [23] = "float4e2m1"};
    cinfer_dtype dt = (cinfer_dtype)elem_type;
    if (elem_type > 0 && elem_type < 24 && cinfer_dtype_size(dt) > 0) {
        *out = dt;
        return CINFER_OK;
    }
    if (elem_type > 0 && elem_type < 24 && unsupported[elem_type])
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s: element type %s is not supported",
                              what, unsupported[elem_type]);
    if (elem_type == 0)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: element type is undefined", what);
    return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: unknown element type %d", what,
                          (int)elem_type);
}

/* Copies dims into t and computes numel; rejects negative dims and sizes that overflow. */
static cinfer_status tensor_shape(const Onnx__TensorProto *tp, const char *what, cinfer_tensor *t,
                                  int64_t *numel, cinfer__err *err) {
    if (tp->n_dims > CINFER_MAX_RANK)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s: rank %zu exceeds the maximum of %d",
                              what, tp->n_dims, CINFER_MAX_RANK);
    /* The product of the non-zero dims must fit even when another dim is 0: such a shape is
     * nonsense, and rejecting it keeps the check independent of dim order. */
    int64_t prod = 1;
    bool zero = false;
    size_t esz = cinfer_dtype_size(t->dtype);
    for (size_t i = 0; i < tp->n_dims; i++) {
        int64_t d = tp->dims[i];
        if (d < 0)
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: dimension %zu is negative (%lld)",
                                  what, i, (long long)d);
        t->dims[i] = d;
        if (d == 0) zero = true;
        else if (__builtin_mul_overflow(prod, d, &prod) || prod > INT64_MAX / (int64_t)esz ||
                 (uint64_t)prod * esz > SIZE_MAX / 2)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "%s: the element count overflows (dimension %zu = %lld)", what,
                                  i, (long long)d);
    }
    t->rank = (int)tp->n_dims;
    *numel = zero ? 0 : prod;
    return CINFER_OK;
}

/* ---- raw_data and typed fields -------------------------------------------------------- */

/* raw_data is little endian; swap elements in place on a big-endian host. */
static void from_little_endian(void *data, int64_t numel, size_t esz) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    unsigned char *p = data;
    for (int64_t i = 0; i < numel; i++, p += esz)
        for (size_t a = 0, b = esz - 1; a < b; a++, b--) {
            unsigned char c = p[a];
            p[a] = p[b];
            p[b] = c;
        }
#else
    (void)data, (void)numel, (void)esz;
#endif
}

/* The typed field that carries dtype's values, as ONNX's TensorProto documents it. */
static const char *typed_field(const Onnx__TensorProto *tp, cinfer_dtype dt, size_t *count) {
    switch (dt) {
    case CINFER_DTYPE_FLOAT: *count = tp->n_float_data; return "float_data";
    case CINFER_DTYPE_DOUBLE: *count = tp->n_double_data; return "double_data";
    case CINFER_DTYPE_INT64: *count = tp->n_int64_data; return "int64_data";
    case CINFER_DTYPE_UINT32:
    case CINFER_DTYPE_UINT64: *count = tp->n_uint64_data; return "uint64_data";
    default: *count = tp->n_int32_data; return "int32_data";
    }
}

/* Narrows the typed field's values into dst (numel elements of t->dtype). */
static void copy_typed(const Onnx__TensorProto *tp, const cinfer_tensor *t, int64_t numel,
                       void *dst) {
    size_t bytes = (size_t)numel * cinfer_dtype_size(t->dtype);
    if (!numel) return;
    switch (t->dtype) {
    case CINFER_DTYPE_FLOAT: memcpy(dst, tp->float_data, bytes); return;
    case CINFER_DTYPE_DOUBLE: memcpy(dst, tp->double_data, bytes); return;
    case CINFER_DTYPE_INT64: memcpy(dst, tp->int64_data, bytes); return;
    case CINFER_DTYPE_UINT64: memcpy(dst, tp->uint64_data, bytes); return;
    case CINFER_DTYPE_INT32: memcpy(dst, tp->int32_data, bytes); return;
    default: break;
    }
    for (int64_t i = 0; i < numel; i++) {
        int32_t v = tp->int32_data ? tp->int32_data[i] : 0;
        switch (t->dtype) {
        case CINFER_DTYPE_UINT32: ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i]; break;
        case CINFER_DTYPE_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
        case CINFER_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)v; break;
        case CINFER_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)v; break;
        case CINFER_DTYPE_INT16: ((int16_t *)dst)[i] = (int16_t)v; break;
        /* uint16, float16 and bfloat16 travel as their 16-bit patterns. */
        default: ((uint16_t *)dst)[i] = (uint16_t)v; break;
        }
    }
}

/* ---- external data -------------------------------------------------------------------- */

typedef struct ext_ref {
    const char *location;
    int64_t offset, length; /* length -1: to the end of the file */
} ext_ref;

static bool parse_nonneg(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
            return false;
    }
    *out = v;
    return true;
}

static cinfer_status ext_parse(const Onnx__TensorProto *tp, const char *what, ext_ref *ref,
                               cinfer__err *err) {
    ref->location = NULL;
    ref->offset = 0;
    ref->length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        if (!k) continue;
        bool ok = true;
        if (!strcmp(k, "location")) ref->location = v;
        else if (!strcmp(k, "offset")) ok = parse_nonneg(v, &ref->offset);
        else if (!strcmp(k, "length")) ok = parse_nonneg(v, &ref->length);
        if (!ok)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "%s: external data %s '%s' is not a non-negative integer", what,
                                  k, v ? v : "");
    }
    if (!ref->location || !*ref->location)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: external data has no location",
                              what);
    return CINFER_OK;
}

/* A location must be relative and free of ".." components before we even look at the disk. */
static bool location_is_plain(const char *loc) {
    if (loc[0] == '/') return false;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') return false;
        p += n;
        while (*p == '/') p++;
    }
    return true;
}

static const char *errno_str(int e, char *buf, size_t len) {
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(e, buf, len);
#else
    return strerror_r(e, buf, len) == 0 ? buf : "unknown error";
#endif
}

/* Resolves base_dir/location with realpath and checks it stays under realpath(base_dir), so a
 * symlink cannot lead out of the model's directory. *resolved is malloc'd by realpath. */
static cinfer_status ext_resolve(const char *base_dir, const char *loc, const char *what,
                                 char **resolved, cinfer__err *err) {
    char ebuf[128];
    if (!location_is_plain(loc))
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: external data location '%s' is absolute or contains '..' "
                              "(it must stay inside the model directory)", what, loc);
    size_t n = strlen(base_dir) + strlen(loc) + 2;
    char *joined = cinfer__malloc(n);
    if (!joined) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
    snprintf(joined, n, "%s/%s", base_dir, loc);
    char *base = realpath(base_dir, NULL);
    int base_errno = errno;
    char *full = base ? realpath(joined, NULL) : NULL;
    int full_errno = errno;
    cinfer_status st = CINFER_OK;
    size_t bl = base ? strlen(base) : 0;
    if (!base)
        st = cinfer__errorf(err, base_errno == ENOENT ? CINFER_NOT_FOUND : CINFER_IO,
                            "%s: base directory '%s': %s", what, base_dir,
                            errno_str(base_errno, ebuf, sizeof ebuf));
    else if (!full)
        st = cinfer__errorf(err, full_errno == ENOENT ? CINFER_NOT_FOUND : CINFER_IO,
                            "%s: external data file '%s': %s", what, joined,
                            errno_str(full_errno, ebuf, sizeof ebuf));
    else if (strncmp(full, base, bl) != 0 || (full[bl] != '/' && strcmp(base, "/") != 0))
        st = cinfer__errorf(err, CINFER_INVALID_MODEL,
                            "%s: external data location '%s' resolves to '%s', outside the model "
                            "directory '%s'", what, loc, full, base);
    free(base); /* realpath's buffers come from malloc */
    cinfer__free(joined);
    if (st != CINFER_OK) free(full);
    else *resolved = full;
    return st;
}

static cinfer_status read_at(int fd, void *dst, size_t len, int64_t off, const char *what,
                             const char *path, cinfer__err *err) {
    char ebuf[128];
    unsigned char *p = dst;
    while (len) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            return cinfer__errorf(err, CINFER_IO, "%s: reading external data file '%s': %s",
                                  what, path, r < 0 ? errno_str(errno, ebuf, sizeof ebuf)
                                                    : "unexpected end of file");
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return CINFER_OK;
}

/* Checks the file's extent against the tensor's size before allocating, then reads it. */
static cinfer_status ext_read(int fd, const ext_ref *ref, const char *path, size_t bytes,
                              void **dst, const char *what, cinfer__err *err) {
    struct stat sb;
    char ebuf[128];
    if (fstat(fd, &sb) != 0)
        return cinfer__errorf(err, CINFER_IO, "%s: external data file '%s': %s", what, path,
                              errno_str(errno, ebuf, sizeof ebuf));
    if (!S_ISREG(sb.st_mode))
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: external data file '%s' is not a regular file", what, path);
    int64_t size = (int64_t)sb.st_size;
    if (ref->offset > size)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: external data offset %lld is past the end of '%s' (%lld bytes)",
                              what, (long long)ref->offset, path, (long long)size);
    int64_t len = ref->length >= 0 ? ref->length : size - ref->offset;
    if (len > size - ref->offset)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: external data offset %lld + length %lld exceeds the size of "
                              "'%s' (%lld bytes)", what, (long long)ref->offset, (long long)len,
                              path, (long long)size);
    if ((uint64_t)len != bytes)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: external data in '%s' has %lld bytes, the tensor needs %zu",
                              what, path, (long long)len, bytes);
    *dst = cinfer__aligned_alloc(bytes);
    if (!*dst)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", what,
                              bytes);
    cinfer_status st = read_at(fd, *dst, bytes, ref->offset, what, path, err);
    if (st != CINFER_OK) {
        cinfer__aligned_free(*dst);
        *dst = NULL;
    }
    return st;
}

/* Reads the tensor's bytes from its external file into a fresh aligned buffer *dst. */
static cinfer_status ext_load(const Onnx__TensorProto *tp, const char *what, const char *base_dir,
                              size_t bytes, void **dst, cinfer__err *err) {
    ext_ref ref;
    CINFER_TRY(ext_parse(tp, what, &ref, err));
    if (!base_dir)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: external data needs a base directory (location '%s')", what,
                              ref.location);
    char *path = NULL, ebuf[128];
    CINFER_TRY(ext_resolve(base_dir, ref.location, what, &path, err));
    cinfer_status st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = cinfer__errorf(err, errno == ENOENT ? CINFER_NOT_FOUND : CINFER_IO,
                            "%s: external data file '%s': %s", what, path,
                            errno_str(errno, ebuf, sizeof ebuf));
    } else {
        st = ext_read(fd, &ref, path, bytes, dst, what, err);
        close(fd);
    }
    free(path);
    return st;
}

/* ---- the tensor ----------------------------------------------------------------------- */

/* Checks that exactly the data the shape needs is present in the chosen source. */
static cinfer_status check_inline_size(const Onnx__TensorProto *tp, const char *what,
                                       const cinfer_tensor *t, int64_t numel, size_t bytes,
                                       cinfer__err *err) {
    char shape[128];
    cinfer__shape_str(t->rank, t->dims, shape, sizeof shape);
    if (tp->has_raw_data) {
        if (tp->raw_data.len != bytes)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "%s: raw_data has %zu bytes, expected %zu (%s %s)", what,
                                  tp->raw_data.len, bytes, cinfer_dtype_name(t->dtype), shape);
        return CINFER_OK;
    }
    size_t count;
    const char *field = typed_field(tp, t->dtype, &count);
    if (count != (uint64_t)numel)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "%s: %s has %zu values, expected %lld (%s %s; no raw_data)", what,
                              field, count, (long long)numel, cinfer_dtype_name(t->dtype),
                              shape);
    return CINFER_OK;
}

cinfer_status cinfer__onnx_tensor(const Onnx__TensorProto *tp, const char *what,
                                  const char *base_dir, cinfer_tensor *t, cinfer__err *err) {
    memset(t, 0, sizeof *t);
    if (!tp->has_data_type)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: data_type is missing", what);
    CINFER_TRY(cinfer__onnx_dtype(tp->data_type, what, &t->dtype, err));
    if (tp->segment)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s: segmented tensors are not supported",
                              what);
    int64_t numel = 0;
    CINFER_TRY(tensor_shape(tp, what, t, &numel, err));
    size_t esz = cinfer_dtype_size(t->dtype), bytes = (size_t)numel * esz;
    bool external = tp->has_data_location &&
                    tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    void *data = NULL;
    if (external) {
        CINFER_TRY(ext_load(tp, what, base_dir, bytes, &data, err));
    } else {
        CINFER_TRY(check_inline_size(tp, what, t, numel, bytes, err));
        data = cinfer__aligned_alloc(bytes);
        if (!data)
            return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory for %zu bytes",
                                  what, bytes);
        if (tp->has_raw_data && bytes) memcpy(data, tp->raw_data.data, bytes);
        else if (!tp->has_raw_data) copy_typed(tp, t, numel, data);
    }
    if (external || tp->has_raw_data) from_little_endian(data, numel, esz);
    t->data = data;
    return CINFER_OK;
}

/* ---- serialized TensorProto (test data) ----------------------------------------------- */

static void *pb_alloc(void *data, size_t size) {
    void *p = cinfer__malloc(size);
    if (!p) ((cinfer__pb_alloc *)data)->failed = true;
    return p;
}

static void pb_free(void *data, void *p) { cinfer__free(p); }

void cinfer__pb_alloc_init(cinfer__pb_alloc *pa) {
    pa->base.alloc = pb_alloc;
    pa->base.free = pb_free;
    pa->base.allocator_data = pa;
    pa->failed = false;
}

cinfer_status cinfer__onnx_read_tensor(const void *data, size_t size, cinfer_tensor *out,
                                       char **name, cinfer__err *err) {
    if (name) *name = NULL;
    memset(out, 0, sizeof *out);
    if (!data && size)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "tensor bytes are NULL");
    cinfer__pb_alloc pa;
    cinfer__pb_alloc_init(&pa);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa.base, size, data);
    if (!tp && pa.failed)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory parsing a TensorProto");
    if (!tp)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "data is not a valid ONNX TensorProto (corrupt or truncated)");
    char what[CINFER__ONNX_WHAT_LEN];
    if (tp->name && *tp->name) snprintf(what, sizeof what, "tensor '%s'", tp->name);
    else snprintf(what, sizeof what, "tensor");
    cinfer_status st = cinfer__onnx_tensor(tp, what, NULL, out, err);
    if (st == CINFER_OK && name && tp->name && *tp->name) {
        *name = cinfer__strdup(tp->name);
        if (!*name) {
            cinfer__tensor_free_data(out);
            st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
        }
    }
    protobuf_c_message_free_unpacked(&tp->base, &pa.base);
    return st;
}
