/* The module's own translation unit: everything it exports lives in src/cuda/ and is pulled in
 * whole from cinfer_cuda_host. Kept so the MODULE target has a source of its own. */
#include "cuda/module.h"
