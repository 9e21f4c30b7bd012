# Cross-compiling for 64-bit ARM Linux (aarch64) with Debian's multiarch: the cross compiler from
# crossbuild-essential-arm64, the :arm64 development packages in /usr/lib/aarch64-linux-gnu, and
# qemu-user to run what the build runs (GoogleTest discovery). scripts/aarch64.sh installs all of it
# and uses this file through the preset `aarch64` (docs/PACKAGES.md, "ARM64").
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)

# Libraries and packages come from the arm64 directories only; programs (swig, pkg-config) from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_IGNORE_PREFIX_PATH /usr/lib/x86_64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} "${CMAKE_CURRENT_LIST_DIR}/aarch64/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# Three development packages cannot be installed for two architectures at once in Debian 12
# (libsimdjson-dev, libpq-dev, libjemalloc-dev are not Multi-Arch: same). Their headers are the
# host's (the same files); their arm64 runtime libraries (libsimdjson14:arm64, libpq5:arm64,
# libjemalloc2:arm64) are installed, and cmake/aarch64/ describes them: a simdjson package config,
# pkg-config files for libpq and jemalloc, and in lib/ the development symlinks (libpq.so,
# libjemalloc.so) their -dev packages would have installed.
set(simdjson_DIR ${CMAKE_CURRENT_LIST_DIR}/aarch64/simdjson)
