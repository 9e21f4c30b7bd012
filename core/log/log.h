// Logging. Two outputs with different owners:
// - UserLogOutput (log/user_log_output.h): what the app's DittoLogger settings govern (enabled,
//   minimum level, log file, custom callback) — console and callback output only. Process-wide,
//   like Ditto's DittoLogger.
// - EngineLog (log/engine_log.h): each instance's own rotating JSON Lines files (about 1 MB each, at
//   most 15 files, at most 3 days, debug and above), kept whatever the user's settings; export
//   makes gzip bundles.
// Levels are in log/log_level.h; which lines an export keeps in log/log_filter.h (via engine_log.h).
// This header includes the levels and both outputs.
#pragma once

#include "log/engine_log.h"
#include "log/log_level.h"
#include "log/user_log_output.h"
