/* The C module's one header. The include path comes from pkg-config (smallpeer.pc's Cflags), so the
 * module map works from a fresh clone, an installed prefix or the CMake build tree alike. */
#include <smallpeer/smallpeer.h>
