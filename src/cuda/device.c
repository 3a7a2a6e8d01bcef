/* CUDA device discovery for the backend module: which GPU, and whether cinfer can use it. */
#include <cuda_runtime_api.h>
#include <stdio.h>

#include "cuda/module_impl.h"

int cinfer_cuda_probe(int index, char *name, size_t name_len, char *why, size_t why_len) {
    int count = 0;
    if (name_len) name[0] = 0;
    /* Without a driver or a device, cudart reports an error rather than a count of 0. */
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(why, why_len, "no CUDA device (cudaGetDeviceCount: %s)", cudaGetErrorString(e));
        return 0;
    }
    if (index < 0 || index >= count) {
        snprintf(why, why_len, "CUDA device %d requested, %d present", index, count);
        return 0;
    }
    struct cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, index);
    if (e != cudaSuccess) {
        snprintf(why, why_len, "cudaGetDeviceProperties(%d): %s", index, cudaGetErrorString(e));
        return 0;
    }
    snprintf(name, name_len, "%s", prop.name);
    if (prop.major < 8) {
        snprintf(why, why_len, "%s has compute capability %d.%d; cinfer needs 8.0 or newer",
                 prop.name, prop.major, prop.minor);
        return 0;
    }
    return 1;
}
