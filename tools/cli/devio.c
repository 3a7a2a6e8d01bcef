/* --io device (run, bench): the caller's side of device-resident inputs and outputs, through
 * cinfer_device_alloc / _copy_to_device / _copy_to_host and CINFER_TENSOR_DEVICE. */
#include <string.h>

#include "args.h"
#include "cli.h"

static size_t tensor_bytes(const cinfer_tensor *t) {
    return (size_t)cinfer_tensor_numel(t) * cinfer_dtype_size(t->dtype);
}

void cli_device_free(cinfer_runtime *rt, cinfer_tensor *dev, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (dev[i].flags & CINFER_TENSOR_DEVICE) cinfer_device_free(rt, dev[i].data);
        dev[i].data = NULL;
        dev[i].flags = 0;
    }
}

int cli_device_tensors(cinfer_runtime *rt, const cinfer_tensor *host, size_t n, bool upload,
                       cinfer_tensor *dev) {
    for (size_t i = 0; i < n; i++) {
        dev[i] = host[i];
        dev[i].data = NULL;
        dev[i].flags = 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t bytes = tensor_bytes(&host[i]);
        if (!bytes) continue;
        cinfer_status s = cinfer_device_alloc(rt, bytes, &dev[i].data);
        if (s == CINFER_OK) dev[i].flags = CINFER_TENSOR_DEVICE;
        if (s == CINFER_OK && upload)
            s = cinfer_device_copy_to_device(rt, dev[i].data, host[i].data, bytes);
        if (s != CINFER_OK) {
            cli_device_free(rt, dev, n);
            return cli_fail_api(s);
        }
    }
    return 0;
}

int cli_device_download(cinfer_runtime *rt, const cinfer_tensor *dev, size_t n,
                        cinfer_tensor *host) {
    for (size_t i = 0; i < n; i++) {
        if (!(dev[i].flags & CINFER_TENSOR_DEVICE)) continue;
        cinfer_status s = cinfer_device_copy_to_host(rt, host[i].data, dev[i].data,
                                                     tensor_bytes(&dev[i]));
        if (s != CINFER_OK) return cli_fail_api(s);
    }
    return 0;
}
