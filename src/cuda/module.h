/* The entry points libcinfer looks up (dlsym) in the CUDA backend module. Plain C types only:
 * the core never sees a CUDA type. */
#ifndef CINFER_CUDA_MODULE_H
#define CINFER_CUDA_MODULE_H

#include <stddef.h>

/* Version of this table; the core refuses a module with another one. */
#define CINFER_CUDA_MODULE_ABI 1

/* Checks that device `index` exists and is usable (compute capability 8.0 or newer). Returns
 * 1 if so; otherwise 0 with the reason in `why`. `name` gets the device's name either way
 * (may be empty). Safe to call on machines without a GPU or a driver. */
typedef int (*cinfer_cuda_probe_fn)(int index, char *name, size_t name_len, char *why,
                                    size_t why_len);

#define CINFER_CUDA_PROBE_SYMBOL "cinfer_cuda_probe"
#define CINFER_CUDA_ABI_SYMBOL "cinfer_cuda_module_abi"

#endif
