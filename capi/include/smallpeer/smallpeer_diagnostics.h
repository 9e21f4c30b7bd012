/*
 * smallpeer_diagnostics.h — test and leak-check helpers of libsmallpeer.
 *
 * NOT part of the stable ABI contract: the functions here may change or disappear in any release
 * without a change of SP_ABI_VERSION, and applications must not depend on them. The bindings' test
 * suites use them (Swift: `import CSmallPeer.Diagnostics`; the JVM's raw JNI layer, the Python
 * module's `live_handles` and the Node addon's `liveHandles` are likewise internal). They are
 * exported like the stable functions (capi/exports.txt lists them in their own section).
 *
 * Pure C99, like smallpeer.h; the rules of smallpeer.h apply.
 */
#ifndef SMALLPEER_SMALLPEER_DIAGNOSTICS_H
#define SMALLPEER_SMALLPEER_DIAGNOSTICS_H

#include "smallpeer/smallpeer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How many sp_ditto_t handles are allocated and not yet freed in this process (leak checks). */
SP_API int64_t sp_ditto_live_handles(void);

#ifdef __cplusplus
}
#endif

#endif /* SMALLPEER_SMALLPEER_DIAGNOSTICS_H */
