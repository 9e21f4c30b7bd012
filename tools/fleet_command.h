// `smallpeer fleet`: runs a simulated fleet (tools/fleet.h) with a progress line until a duration
// passes or SIGINT/SIGTERM arrives.
#pragma once

#include <CLI/CLI.hpp>

#include "fleet.h"

namespace smallpeer::tools {

/// Adds the `fleet` subcommand to `app`, with --help text and validation, filling `options`.
CLI::App* add_fleet_command(CLI::App& app, FleetOptions& options);

/// Runs the fleet; returns the exit code (0 after --duration or a signal). Throws smallpeer::Error
/// when the fleet cannot start (bad options, too few file descriptors, a peer that will not open).
int run_fleet_command(const FleetOptions& options);

}  // namespace smallpeer::tools
