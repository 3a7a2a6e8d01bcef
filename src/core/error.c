/* Status names and messages, per-thread last error, and message formatting helpers. */
#include "core/error.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char last_error[CINFER__ERR_LEN];

const char *cinfer_status_name(cinfer_status status) {
    switch (status) {
#define CINFER_STATUS_NAME_(name, value, msg) \
    case CINFER_##name:                       \
        return #name;
        CINFER_STATUS_MAP(CINFER_STATUS_NAME_)
#undef CINFER_STATUS_NAME_
    }
    return "UNKNOWN_STATUS";
}

const char *cinfer_status_message(cinfer_status status) {
    switch (status) {
#define CINFER_STATUS_MSG_(name, value, msg) \
    case CINFER_##name:                      \
        return msg;
        CINFER_STATUS_MAP(CINFER_STATUS_MSG_)
#undef CINFER_STATUS_MSG_
    }
    return "unknown status";
}

const char *cinfer_last_error(void) { return last_error; }

void cinfer__set_last_error(const char *msg) {
    snprintf(last_error, sizeof last_error, "%s", msg ? msg : "");
}

cinfer_status cinfer__errorf(cinfer__err *err, cinfer_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void cinfer__err_prefix(cinfer__err *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[CINFER__ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[CINFER__ERR_LEN];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}
