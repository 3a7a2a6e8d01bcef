/* NumPy .npy files (format 1.0/2.0, little-endian, C order) for the CLI and tests. */
#ifndef CINFER_CORE_NPY_H
#define CINFER_CORE_NPY_H

#include <stddef.h>

#include "cinfer/cinfer.h"
#include "core/error.h"

/* Parses .npy bytes into *out (fresh aligned data; free with cinfer__tensor_free_data).
 * A bad magic, header, dtype, Fortran order or size is CINFER_INVALID_ARGUMENT naming what. */
cinfer_status cinfer__npy_parse(const void *data, size_t size, cinfer_tensor *out,
                                cinfer__err *err);
cinfer_status cinfer__npy_load(const char *path, cinfer_tensor *out, cinfer__err *err);
cinfer_status cinfer__npy_save(const char *path, const cinfer_tensor *t, cinfer__err *err);

#endif
