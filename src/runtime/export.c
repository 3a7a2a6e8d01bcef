/* libcinfer's exported surface is the CINFER_API functions compiled into cinfer_core; this
 * file only anchors the shared library target. */
#include "cinfer/cinfer.h"
