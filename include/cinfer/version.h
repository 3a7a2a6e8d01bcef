/* cinfer version numbers (compile time); cinfer_version() reports the run-time library's. */
#ifndef CINFER_VERSION_H
#define CINFER_VERSION_H

#define CINFER_VERSION_MAJOR 0
#define CINFER_VERSION_MINOR 1
#define CINFER_VERSION_PATCH 0
#define CINFER_VERSION_STRING "0.1.0"

#endif
