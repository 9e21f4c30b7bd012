/* The C module's Diagnostics submodule: test helpers that are not part of the stable ABI. */
#include <smallpeer/smallpeer_diagnostics.h>
