/* Unit tests of the .npy reader and writer (src/core/npy.c) against bytes NumPy wrote. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/npy.h"
#include "core/tensor.h"

/* Files written by NumPy 1.24 (np.save, or np.lib.format.write_array with version=(2, 0)). */
/* np.save(np.array([[1.5, -2.25, 3], [0, 1e-3, -7]], dtype='<f4')) */
static const char np_f4_2x3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \x0a" /* padding */
    "\x00\x00\xc0?\x00\x00\x10\xc0\x00\x00@@\x00\x00\x00\x00o\x12\x83:\x00\x00\xe0\xc0";
#define np_f4_2x3_LEN 152
/* np.lib.format.write_array(f, np.array([[-5, 7, 1 << 40]], dtype='<i8'), version=(2, 0)) */
static const char np_i8_v2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3), }"
    "                                                        \x0a" /* padding */
    "\xfb\xff\xff\xff\xff\xff\xff\xff\x07\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x01\x00\x00";
#define np_i8_v2_LEN 152
/* np.save(array([ True, False,  True])) */
static const char np_b1[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }"
    "                                                            \x0a" /* padding */
    "\x01\x00\x01";
#define np_b1_LEN 131
/* np.save(array(0.5, dtype=float16)) */
static const char np_f2_scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (), }"
    "                                                              \x0a" /* padding */
    "\x00""8";
#define np_f2_scalar_LEN 130
/* np.save(array([], shape=(0, 4), dtype=uint16)) */
static const char np_u2_empty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order': False, 'shape': (0, 4), }"
    "                                                          \x0a" /* padding */
    "";
#define np_u2_empty_LEN 128

/* ---- Helpers ------------------------------------------------------------------------------ */

/* Builds a .npy file: the preamble for `major`, the header text padded with spaces and '\n'
 * to a 64-byte boundary, then `data`. Returns a malloc'ed buffer. */
static unsigned char *make_npy(int major, const char *header, const void *data, size_t data_len,
                               size_t *len) {
    size_t pre = major == 1 ? 10 : 12, hl = strlen(header);
    size_t padded = ((pre + hl + 1 + 63) / 64) * 64 - pre;
    unsigned char *b = malloc(pre + padded + data_len + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(padded >> (8 * i));
    memcpy(b + pre, header, hl);
    memset(b + pre + hl, ' ', padded - hl - 1);
    b[pre + padded - 1] = '\n';
    if (data_len) memcpy(b + pre + padded, data, data_len);
    *len = pre + padded + data_len;
    return b;
}

static const float f4_values[6] = {1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, -7.0f};

/* Parses header + `data_len` bytes of data and expects INVALID_ARGUMENT naming `field`. */
static void expect_bad_header(const char *header, size_t data_len, const char *field) {
    unsigned char data[64] = {0};
    size_t len;
    unsigned char *b = make_npy(1, header, data, data_len, &len);
    cinfer_tensor t = {0};
    cinfer__err err = {{0}};
    cinfer_status s = cinfer__npy_parse(b, len, &t, &err);
    ck_assert_msg(s == CINFER_INVALID_ARGUMENT, "header %s: status %d (%s)", header, s, err.msg);
    ck_assert_msg(strstr(err.msg, field) != NULL, "header %s: message '%s' does not name '%s'",
                  header, err.msg, field);
    ck_assert_ptr_null(t.data);
    free(b);
}

static void expect_bad_bytes(const void *bytes, size_t len, const char *field) {
    cinfer_tensor t = {0};
    cinfer__err err = {{0}};
    cinfer_status s = cinfer__npy_parse(bytes, len, &t, &err);
    ck_assert_msg(s == CINFER_INVALID_ARGUMENT, "status %d (%s)", s, err.msg);
    ck_assert_msg(strstr(err.msg, field) != NULL, "message '%s' does not name '%s'", err.msg,
                  field);
}

static char tmp_dir[64];

static void make_tmp_dir(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_npy_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void *read_whole(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* ---- Reading NumPy's files ------------------------------------------------------------------ */

START_TEST(parse_numpy_f4) {
    cinfer_tensor t = {0};
    cinfer__err err;
    ck_assert_int_eq(cinfer__npy_parse(np_f4_2x3, np_f4_2x3_LEN, &t, &err), CINFER_OK);
    ck_assert_int_eq(t.dtype, CINFER_DTYPE_FLOAT);
    ck_assert_int_eq(t.rank, 2);
    ck_assert_int_eq(t.dims[0], 2);
    ck_assert_int_eq(t.dims[1], 3);
    ck_assert_uint_eq((uintptr_t)t.data % 64, 0);
    ck_assert_mem_eq(t.data, f4_values, sizeof f4_values);
    cinfer__tensor_free_data(&t);
}
END_TEST

START_TEST(parse_numpy_v2_i8) {
    cinfer_tensor t = {0};
    cinfer__err err;
    ck_assert_int_eq(cinfer__npy_parse(np_i8_v2, np_i8_v2_LEN, &t, &err), CINFER_OK);
    ck_assert_int_eq(t.dtype, CINFER_DTYPE_INT64);
    ck_assert_int_eq(t.rank, 2);
    ck_assert_int_eq(t.dims[0], 1);
    ck_assert_int_eq(t.dims[1], 3);
    const int64_t *v = t.data;
    ck_assert_int_eq(v[0], -5);
    ck_assert_int_eq(v[1], 7);
    ck_assert_int_eq(v[2], (int64_t)1 << 40);
    cinfer__tensor_free_data(&t);
}
END_TEST

START_TEST(parse_numpy_bool_half_empty) {
    cinfer_tensor t = {0};
    cinfer__err err;
    ck_assert_int_eq(cinfer__npy_parse(np_b1, np_b1_LEN, &t, &err), CINFER_OK);
    ck_assert_int_eq(t.dtype, CINFER_DTYPE_BOOL);
    ck_assert_int_eq(t.rank, 1);
    ck_assert_int_eq(t.dims[0], 3);
    ck_assert_mem_eq(t.data, "\x01\x00\x01", 3);
    cinfer__tensor_free_data(&t);

    ck_assert_int_eq(cinfer__npy_parse(np_f2_scalar, np_f2_scalar_LEN, &t, &err), CINFER_OK);
    ck_assert_int_eq(t.dtype, CINFER_DTYPE_FLOAT16);
    ck_assert_int_eq(t.rank, 0);
    ck_assert_float_eq(cinfer__half_to_float(*(uint16_t *)t.data), 0.5f);
    cinfer__tensor_free_data(&t);

    ck_assert_int_eq(cinfer__npy_parse(np_u2_empty, np_u2_empty_LEN, &t, &err), CINFER_OK);
    ck_assert_int_eq(t.dtype, CINFER_DTYPE_UINT16);
    ck_assert_int_eq(t.rank, 2);
    ck_assert_int_eq(t.dims[0], 0);
    ck_assert_int_eq(t.dims[1], 4);
    ck_assert_ptr_nonnull(t.data);
    cinfer__tensor_free_data(&t);
}
END_TEST

/* Keys in another order, double quotes, no trailing comma, '=' byte order: still valid. */
START_TEST(parse_header_variants) {
    const char *headers[] = {
        "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "{'descr':'=f4','fortran_order':False,'shape':(2,3,)}",
        "{ 'fortran_order' : False , 'shape' : ( 2 , 3 ) , 'descr' : '<f4' , }",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        size_t len;
        unsigned char *b = make_npy(1, headers[i], f4_values, sizeof f4_values, &len);
        cinfer_tensor t = {0};
        cinfer__err err;
        ck_assert_msg(cinfer__npy_parse(b, len, &t, &err) == CINFER_OK, "%s: %s", headers[i],
                      err.msg);
        ck_assert_int_eq(t.rank, 2);
        ck_assert_mem_eq(t.data, f4_values, sizeof f4_values);
        cinfer__tensor_free_data(&t);
        free(b);
    }
}
END_TEST

/* ---- Bad files --------------------------------------------------------------------------- */

START_TEST(bad_magic_and_version) {
    expect_bad_bytes("\x93NUMPZ\x01\x00v\x00{}", 12, "magic");
    expect_bad_bytes("\x93NUM", 4, "magic");
    expect_bad_bytes("", 0, "magic");
    unsigned char b[np_f4_2x3_LEN];
    memcpy(b, np_f4_2x3, sizeof b);
    b[6] = 3;
    expect_bad_bytes(b, sizeof b, "version");
    b[6] = 0;
    expect_bad_bytes(b, sizeof b, "version");
    /* Header length past the end of the file, and a preamble cut short. */
    memcpy(b, np_f4_2x3, sizeof b);
    b[8] = 0xff;
    b[9] = 0x7f;
    expect_bad_bytes(b, sizeof b, "header");
    expect_bad_bytes(np_i8_v2, 10, "header");
}
END_TEST

START_TEST(bad_descr) {
    expect_bad_header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "'descr'");
    expect_bad_header("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", 48, "'descr'");
    expect_bad_header("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 24, "'descr'");
    expect_bad_header("{'descr': '|f4', 'fortran_order': False, 'shape': (2, 3), }", 24, "'descr'");
    expect_bad_header("{'descr': '<f', 'fortran_order': False, 'shape': (2, 3), }", 24, "'descr'");
    expect_bad_header("{'descr': 5, 'fortran_order': False, 'shape': (2, 3), }", 24, "'descr'");
    expect_bad_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                      "'descr'");
}
END_TEST

START_TEST(bad_fortran_order) {
    expect_bad_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24,
                      "'fortran_order'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3), }", 24,
                      "'fortran_order'");
}
END_TEST

START_TEST(bad_shape) {
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 24,
                      "'shape'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", 24, "'shape'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24, "'shape'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.5), }", 24,
                      "'shape'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (,), }", 4, "'shape'");
    expect_bad_header("{'descr': '|u1', 'fortran_order': False, "
                      "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 1, "'shape'");
    expect_bad_header("{'descr': '<f8', 'fortran_order': False, "
                      "'shape': (4611686018427387904, 4611686018427387904), }", 8, "shape");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (99999999999999999999, ), }", 8, "'shape'");
}
END_TEST

START_TEST(bad_dict) {
    expect_bad_header("['descr', '<f4']", 24, "header");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False}", 4, "'shape'");
    expect_bad_header("{'fortran_order': False, 'shape': (2, 3), }", 24, "'descr'");
    expect_bad_header("{'descr': '<f4', 'shape': (2, 3), }", 24, "'fortran_order'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", 24,
                      "'x'");
    expect_bad_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
                      24, "'descr'");
    expect_bad_header("{'descr': '<f4' 'fortran_order': False, 'shape': (6,)}", 24, "'descr'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", 24, "header");
    expect_bad_header("", 24, "header");
}
END_TEST

START_TEST(bad_size) {
    /* 2x3 float32 needs 24 data bytes: one short (truncated) or one extra is refused. */
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 23, "size");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 25, "size");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0, "size");
    expect_bad_bytes(np_f4_2x3, np_f4_2x3_LEN - 1, "size");
    expect_bad_bytes(np_i8_v2, 128, "size");
}
END_TEST

START_TEST(load_names_the_file) {
    make_tmp_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/bad.npy", tmp_dir);
    size_t len;
    unsigned char *b = make_npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                "abcd", 4, &len);
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    cinfer_tensor t = {0};
    cinfer__err err;
    ck_assert_int_eq(cinfer__npy_load(path, &t, &err), CINFER_INVALID_ARGUMENT);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "'descr'"), "message: %s", err.msg);
    unlink(path);
    ck_assert_int_eq(cinfer__npy_load(path, &t, &err), CINFER_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message: %s", err.msg);
    rmdir(tmp_dir);
}
END_TEST

/* ---- Writing --------------------------------------------------------------------------- */

/* Our files are byte-identical to NumPy's for the same arrays. */
START_TEST(save_matches_numpy) {
    static const struct {
        const char *bytes;
        size_t len;
    } files[] = {{np_f4_2x3, np_f4_2x3_LEN}, {np_b1, np_b1_LEN}, {np_f2_scalar, np_f2_scalar_LEN},
                 {np_u2_empty, np_u2_empty_LEN}};
    make_tmp_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/out.npy", tmp_dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        cinfer_tensor t = {0};
        cinfer__err err;
        ck_assert_int_eq(cinfer__npy_parse(files[i].bytes, files[i].len, &t, &err), CINFER_OK);
        ck_assert_msg(cinfer__npy_save(path, &t, &err) == CINFER_OK, "%s", err.msg);
        size_t len;
        void *got = read_whole(path, &len);
        ck_assert_uint_eq(len, files[i].len);
        ck_assert_mem_eq(got, files[i].bytes, len);
        free(got);
        cinfer__tensor_free_data(&t);
    }
    unlink(path);
    rmdir(tmp_dir);
}
END_TEST

static const cinfer_dtype all_dtypes[] = {
    CINFER_DTYPE_FLOAT,  CINFER_DTYPE_DOUBLE, CINFER_DTYPE_FLOAT16, CINFER_DTYPE_INT64,
    CINFER_DTYPE_INT32,  CINFER_DTYPE_INT16,  CINFER_DTYPE_INT8,    CINFER_DTYPE_UINT8,
    CINFER_DTYPE_BOOL,   CINFER_DTYPE_UINT16, CINFER_DTYPE_UINT32,  CINFER_DTYPE_UINT64};

/* Every supported dtype and ranks 0..8 survive save + load bit for bit. */
START_TEST(save_load_roundtrip) {
    make_tmp_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/rt.npy", tmp_dir);
    uint64_t rng = 20261126;
    for (size_t k = 0; k < sizeof all_dtypes / sizeof all_dtypes[0]; k++) {
        for (int rank = 0; rank <= CINFER_MAX_RANK; rank++) {
            cinfer_tensor t = {.dtype = all_dtypes[k], .rank = rank};
            for (int d = 0; d < rank; d++) t.dims[d] = 1 + (int64_t)((k + (size_t)d * 7) % 3);
            size_t bytes = cinfer__tensor_bytes(&t);
            unsigned char *data = malloc(bytes);
            for (size_t i = 0; i < bytes; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                data[i] = (unsigned char)(rng >> 56);
                if (t.dtype == CINFER_DTYPE_BOOL) data[i] &= 1;
            }
            t.data = data;
            cinfer__err err;
            ck_assert_msg(cinfer__npy_save(path, &t, &err) == CINFER_OK, "%s", err.msg);
            cinfer_tensor u = {0};
            ck_assert_msg(cinfer__npy_load(path, &u, &err) == CINFER_OK, "%s", err.msg);
            ck_assert_int_eq(u.dtype, t.dtype);
            ck_assert_int_eq(u.rank, rank);
            ck_assert_mem_eq(u.dims, t.dims, sizeof(int64_t) * (size_t)rank);
            if (bytes) ck_assert_mem_eq(u.data, data, bytes);
            cinfer__tensor_free_data(&u);
            free(data);
        }
    }
    unlink(path);
    rmdir(tmp_dir);
}
END_TEST

START_TEST(save_errors) {
    cinfer_tensor t = {.dtype = CINFER_DTYPE_BFLOAT16, .rank = 1, .dims = {2}};
    uint16_t v[2] = {0, 0};
    t.data = v;
    cinfer__err err;
    ck_assert_int_eq(cinfer__npy_save("/tmp/x.npy", &t, &err), CINFER_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(err.msg, "bfloat16"));
    t.dtype = CINFER_DTYPE_UINT16;
    ck_assert_int_eq(cinfer__npy_save("/nonexistent-dir/x.npy", &t, &err), CINFER_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x.npy"));
}
END_TEST

START_TEST(parse_out_of_memory) {
    cinfer_tensor t = {0};
    cinfer__err err;
    cinfer__alloc_fail_after(1);
    cinfer_status s = cinfer__npy_parse(np_f4_2x3, np_f4_2x3_LEN, &t, &err);
    cinfer__alloc_fail_after(0);
    ck_assert_int_eq(s, CINFER_OUT_OF_MEMORY);
    ck_assert_ptr_null(t.data);
}
END_TEST

static Suite *npy_suite(void) {
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("npy");
    tcase_add_test(tc, parse_numpy_f4);
    tcase_add_test(tc, parse_numpy_v2_i8);
    tcase_add_test(tc, parse_numpy_bool_half_empty);
    tcase_add_test(tc, parse_header_variants);
    tcase_add_test(tc, bad_magic_and_version);
    tcase_add_test(tc, bad_descr);
    tcase_add_test(tc, bad_fortran_order);
    tcase_add_test(tc, bad_shape);
    tcase_add_test(tc, bad_dict);
    tcase_add_test(tc, bad_size);
    tcase_add_test(tc, load_names_the_file);
    tcase_add_test(tc, save_matches_numpy);
    tcase_add_test(tc, save_load_roundtrip);
    tcase_add_test(tc, save_errors);
    tcase_add_test(tc, parse_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(npy_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
