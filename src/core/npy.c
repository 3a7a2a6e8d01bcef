/* NumPy .npy reader and writer (format 1.0/2.0, little-endian, C order) for the CLI and tests. */
#include "core/npy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/tensor.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* The dtypes cinfer reads and writes. NumPy writes '|' for one-byte types and '<' otherwise;
 * '=' (native) is accepted too because cinfer only runs on little-endian hosts. */
static const struct {
    char kind;
    int size;
    cinfer_dtype dtype;
} npy_types[] = {
    {'f', 4, CINFER_DTYPE_FLOAT},  {'f', 8, CINFER_DTYPE_DOUBLE}, {'f', 2, CINFER_DTYPE_FLOAT16},
    {'i', 8, CINFER_DTYPE_INT64},  {'i', 4, CINFER_DTYPE_INT32},  {'i', 2, CINFER_DTYPE_INT16},
    {'i', 1, CINFER_DTYPE_INT8},   {'u', 1, CINFER_DTYPE_UINT8},  {'b', 1, CINFER_DTYPE_BOOL},
    {'u', 2, CINFER_DTYPE_UINT16}, {'u', 4, CINFER_DTYPE_UINT32}, {'u', 8, CINFER_DTYPE_UINT64},
};
#define N_NPY_TYPES (sizeof npy_types / sizeof npy_types[0])

/* ---- Header dictionary parsing -------------------------------------------------------- */

/* A cursor over the header text, which is a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces. */
typedef struct hdr_cursor {
    const char *p, *end;
} hdr_cursor;

static void skip_space(hdr_cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool eat(hdr_cursor *c, char ch) {
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* Reads a quoted string ('...' or "...") into buf; false if malformed or too long. */
static bool read_str(hdr_cursor *c, char *buf, size_t len) {
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= len) return false;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return false;
    c->p++;
    buf[n] = '\0';
    return true;
}

static bool read_word(hdr_cursor *c, const char *word) {
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return false;
    c->p += n;
    return true;
}

static cinfer_status parse_descr(hdr_cursor *c, cinfer_dtype *dtype, cinfer__err *err) {
    char s[32];
    if (!read_str(c, s, sizeof s))
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "header field 'descr' is not a quoted dtype string");
    char order = s[0], kind = s[1];
    char *endp;
    long size = strtol(s + 2, &endp, 10);
    bool ok_text = strlen(s) >= 3 && *endp == '\0';
    bool ok_order = order == '<' || order == '=' || (order == '|' && size == 1);
    for (size_t i = 0; ok_text && ok_order && i < N_NPY_TYPES; i++) {
        if (npy_types[i].kind == kind && npy_types[i].size == size) {
            *dtype = npy_types[i].dtype;
            return CINFER_OK;
        }
    }
    return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                          "header field 'descr': dtype '%s' is not supported (little-endian "
                          "<f4 <f8 <f2 <i8 <i4 <i2 |i1 |u1 |b1 <u2 <u4 <u8 only)", s);
}

static cinfer_status parse_fortran(hdr_cursor *c, cinfer__err *err) {
    if (read_word(c, "False")) return CINFER_OK;
    if (read_word(c, "True"))
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "header field 'fortran_order' is True: only C-order arrays are "
                              "supported (save np.ascontiguousarray(a))");
    return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                          "header field 'fortran_order' is not True or False");
}

static cinfer_status parse_shape(hdr_cursor *c, cinfer_tensor *t, cinfer__err *err) {
    if (!eat(c, '('))
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "header field 'shape' is not a tuple");
    t->rank = 0;
    while (!eat(c, ')')) {
        skip_space(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "header field 'shape' is not a tuple of non-negative integers");
        if (t->rank == CINFER_MAX_RANK)
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "header field 'shape' has more than %d dimensions",
                                  CINFER_MAX_RANK);
        int64_t d = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (d > (INT64_MAX - 9) / 10)
                return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                      "header field 'shape': dimension %d is too large", t->rank);
            d = d * 10 + (*c->p++ - '0');
        }
        t->dims[t->rank++] = d;
        if (!eat(c, ',') && !(skip_space(c), c->p < c->end && *c->p == ')'))
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "header field 'shape' is not a tuple of non-negative integers");
    }
    return CINFER_OK;
}

/* Parses the header dict into dtype and shape; every key must appear exactly once. */
static cinfer_status parse_header(const char *text, size_t len, cinfer_tensor *t,
                                  cinfer__err *err) {
    hdr_cursor c = {text, text + len};
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    if (!eat(&c, '{'))
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "header is not a Python dict literal");
    while (!eat(&c, '}')) {
        char key[32];
        if (!read_str(&c, key, sizeof key) || !eat(&c, ':'))
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "header is not a dict of 'key': value entries");
        bool *seen = !strcmp(key, "descr")           ? &seen_descr
                     : !strcmp(key, "fortran_order") ? &seen_fortran
                     : !strcmp(key, "shape")         ? &seen_shape
                                                     : NULL;
        if (!seen)
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "header has unknown key '%s'",
                                  key);
        if (*seen)
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "header repeats key '%s'", key);
        *seen = true;
        if (seen == &seen_descr) CINFER_TRY(parse_descr(&c, &t->dtype, err));
        else if (seen == &seen_fortran) CINFER_TRY(parse_fortran(&c, err));
        else CINFER_TRY(parse_shape(&c, t, err));
        if (!eat(&c, ',') && !(skip_space(&c), c.p < c.end && *c.p == '}'))
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "header: expected ',' or '}' after key '%s'", key);
    }
    const char *missing = !seen_descr ? "descr" : !seen_fortran ? "fortran_order"
                        : !seen_shape ? "shape" : NULL;
    if (missing)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "header has no '%s' field", missing);
    return CINFER_OK;
}

/* ---- Public entry points ---------------------------------------------------------------- */

static uint32_t read_le(const unsigned char *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Finds the header text and the data offset from the preamble (magic, version, length). */
static cinfer_status parse_preamble(const unsigned char *b, size_t size, size_t *hdr_off,
                                    size_t *hdr_len, cinfer__err *err) {
    if (size < 8 || memcmp(b, npy_magic, sizeof npy_magic) != 0)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "magic: not a .npy file (it does not start with \\x93NUMPY)");
    int major = b[6];
    if (major != 1 && major != 2)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "version: format %d.%d is not supported (1.0 and 2.0 only)", major,
                              b[7]);
    int len_bytes = major == 1 ? 2 : 4;
    *hdr_off = 6 + 2 + (size_t)len_bytes;
    if (size < *hdr_off)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "header: the file ends inside the preamble");
    *hdr_len = read_le(b + 8, len_bytes);
    if (*hdr_len > size - *hdr_off)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "header: length %zu runs past the end of the %zu-byte file",
                              *hdr_len, size);
    return CINFER_OK;
}

/* Element count and byte size of the shape, refusing overflow. */
static cinfer_status data_bytes(const cinfer_tensor *t, size_t *bytes, cinfer__err *err) {
    size_t n = cinfer_dtype_size(t->dtype);
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] != 0 && n > SIZE_MAX / 2 / (size_t)t->dims[i])
            return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                                  "shape: the array is too large for memory");
        n *= (size_t)t->dims[i];
    }
    *bytes = n;
    return CINFER_OK;
}

cinfer_status cinfer__npy_parse(const void *data, size_t size, cinfer_tensor *out,
                                cinfer__err *err) {
    const unsigned char *b = data;
    size_t hdr_off = 0, hdr_len = 0, need = 0;
    cinfer_tensor t = {0};
    CINFER_TRY(parse_preamble(b, size, &hdr_off, &hdr_len, err));
    CINFER_TRY(parse_header((const char *)b + hdr_off, hdr_len, &t, err));
    CINFER_TRY(data_bytes(&t, &need, err));
    size_t have = size - hdr_off - hdr_len;
    if (have != need) {
        char shape[128];
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "size: a %s %s array needs %zu data bytes but the file has %zu%s",
                              cinfer_dtype_name(t.dtype),
                              cinfer__shape_str(t.rank, t.dims, shape, sizeof shape), need, have,
                              have < need ? " (truncated?)" : "");
    }
    t.data = cinfer__aligned_alloc(need);
    if (!t.data)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory for %zu bytes", need);
    if (need) memcpy(t.data, b + hdr_off + hdr_len, need);
    *out = t;
    return CINFER_OK;
}

cinfer_status cinfer__npy_load(const char *path, cinfer_tensor *out, cinfer__err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return cinfer__errorf(err, errno == ENOENT ? CINFER_NOT_FOUND : CINFER_IO,
                              "%s: cannot open: %s", path, strerror(errno));
    cinfer_status s = CINFER_OK;
    void *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        s = cinfer__errorf(err, CINFER_IO, "%s: cannot determine the file size", path);
        goto done;
    }
    buf = cinfer__malloc((size_t)size);
    if (!buf) {
        s = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory for %ld bytes", path,
                           size);
        goto done;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        s = cinfer__errorf(err, CINFER_IO, "%s: read error", path);
        goto done;
    }
    s = cinfer__npy_parse(buf, (size_t)size, out, err);
    if (s != CINFER_OK) cinfer__err_prefix(err, "%s", path);
done:
    cinfer__free(buf);
    fclose(f);
    return s;
}

/* Formats the header dict for t, padded with spaces so that the data starts on a 64-byte
 * boundary (as NumPy does), ending in '\n'. Returns the header length (without preamble). */
static size_t format_header(const cinfer_tensor *t, const char *descr, size_t preamble, char *buf,
                            size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                descr);
    /* The shape as Python's tuple repr: "()", "(3,)", "(2, 3)". */
    for (int i = 0; i < t->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    if (n < cap) n += (size_t)snprintf(buf + n, cap - n, t->rank == 1 ? ",), }" : "), }");
    size_t total = (preamble + n + 1 + 63) & ~(size_t)63;
    while (preamble + n + 1 < total && n < cap) buf[n++] = ' ';
    buf[n++] = '\n';
    return n;
}

static const char *npy_descr(cinfer_dtype dt, char *buf) {
    for (size_t i = 0; i < N_NPY_TYPES; i++) {
        if (npy_types[i].dtype == dt) {
            sprintf(buf, "%c%c%d", npy_types[i].size == 1 ? '|' : '<', npy_types[i].kind,
                    npy_types[i].size);
            return buf;
        }
    }
    return NULL;
}

cinfer_status cinfer__npy_save(const char *path, const cinfer_tensor *t, cinfer__err *err) {
    char descr[8], hdr[512];
    if (!npy_descr(t->dtype, descr))
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT,
                              "%s: dtype %s cannot be saved as .npy", path,
                              cinfer_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > CINFER_MAX_RANK)
        return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "%s: bad rank %d", path, t->rank);
    /* Rank <= 8 keeps the header far below version 1.0's 65535-byte limit. */
    size_t hlen = format_header(t, descr, 10, hdr, sizeof hdr - 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    size_t bytes = cinfer__tensor_bytes(t);
    FILE *f = fopen(path, "wb");
    if (!f)
        return cinfer__errorf(err, CINFER_IO, "%s: cannot create: %s", path, strerror(errno));
    bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre && fwrite(hdr, 1, hlen, f) == hlen &&
              (bytes == 0 || fwrite(t->data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    if (!ok) return cinfer__errorf(err, CINFER_IO, "%s: write error: %s", path, strerror(errno));
    return CINFER_OK;
}
