/* Internal helpers over cinfer_tensor: sizes, strides, shape printing and broadcasting. */
#ifndef CINFER_CORE_TENSOR_H
#define CINFER_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cinfer/cinfer.h"
#include "core/error.h"

/* numel of dims[0..rank). */
int64_t cinfer__numel(int rank, const int64_t *dims);
size_t cinfer__tensor_bytes(const cinfer_tensor *t);
/* Row-major element strides. */
void cinfer__strides(int rank, const int64_t *dims, int64_t *strides);
bool cinfer__same_shape(const cinfer_tensor *a, const cinfer_tensor *b);
/* Writes "[2x3x4]" (or "[]" for a scalar) into buf. Returns buf. */
char *cinfer__shape_str(int rank, const int64_t *dims, char *buf, size_t len);
/* Normalizes a possibly negative axis into [0, rank); false if out of range. */
bool cinfer__norm_axis(int64_t axis, int rank, int *out);
/* Numpy-style multidirectional broadcast of n shapes. Returns false if incompatible. */
bool cinfer__broadcast_shapes(int n, const cinfer_tensor *const *ins, int *out_rank,
                              int64_t *out_dims);
/* Reads element i of an integer or float tensor as int64 / double (any numeric dtype). */
int64_t cinfer__get_i64(const cinfer_tensor *t, int64_t i);
double cinfer__get_f64(const cinfer_tensor *t, int64_t i);
bool cinfer__dtype_is_float(cinfer_dtype dt);
bool cinfer__dtype_is_int(cinfer_dtype dt);
/* fp16/bf16 <-> fp32 conversions (round to nearest even). */
float cinfer__half_to_float(uint16_t h);
uint16_t cinfer__float_to_half(float f);
float cinfer__bf16_to_float(uint16_t h);
uint16_t cinfer__float_to_bf16(float f);

/* Deep copy with a fresh aligned data buffer (RUNTIME_OWNED cleared: free with
 * cinfer__tensor_free_data). */
cinfer_status cinfer__tensor_clone(const cinfer_tensor *src, cinfer_tensor *dst, cinfer__err *err);
void cinfer__tensor_free_data(cinfer_tensor *t);

#endif
