/* cinfer status codes: one X-macro list yields the enum, the names and the messages. */
#ifndef CINFER_STATUS_H
#define CINFER_STATUS_H

/* X(name, value, message). Values are stable; new codes are only ever appended. */
#define CINFER_STATUS_MAP(X)                                                          \
    X(OK, 0, "success")                                                               \
    X(INVALID_ARGUMENT, -1, "invalid argument")                                       \
    X(INVALID_MODEL, -2, "invalid or corrupt model")                                  \
    X(UNSUPPORTED, -3, "unsupported by cinfer")                                       \
    X(NOT_FOUND, -4, "not found")                                                     \
    X(IO, -5, "input/output error")                                                   \
    X(OUT_OF_MEMORY, -6, "out of memory")                                             \
    X(INVALID_INPUT, -7, "input tensor does not match the model")                     \
    X(DEVICE, -8, "device error")                                                     \
    X(INTERNAL, -9, "internal error")                                                 \
    X(TIMEOUT, -10, "timed out")                                                      \
    X(CANCELLED, -11, "cancelled")                                                    \
    X(QUEUE_FULL, -12, "queue full")                                                  \
    X(SHUTDOWN, -13, "shutting down")

typedef enum cinfer_status {
#define CINFER_STATUS_ENUM_(name, value, msg) CINFER_##name = value,
    CINFER_STATUS_MAP(CINFER_STATUS_ENUM_)
#undef CINFER_STATUS_ENUM_
} cinfer_status;

#endif
