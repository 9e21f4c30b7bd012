// SQLite's own view of a store file, for tests: pragmas run on a separate read-only connection, so
// the production Store interface needs no test hook. Works while a Store has the file open (WAL
// readers do not block writers) and after it closed.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace smallpeer::test_support {

/// The rows `pragma` (e.g. "PRAGMA integrity_check") returns on `database`, one per line, or why
/// it could not run, prefixed "cannot".
inline std::string sqlite_pragma(const std::filesystem::path& database, const std::string& pragma) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = "cannot open " + database.string() + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  std::string report;
  if (sqlite3_prepare_v2(db, pragma.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    report = "cannot run " + pragma + ": " + sqlite3_errmsg(db);
  } else {
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!report.empty()) report.push_back('\n');
      report += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_DONE) report = "cannot finish " + pragma + ": " + sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return report;
}

/// "ok" if SQLite finds `database` sound, else its report (or why the file could not be read).
inline std::string sqlite_integrity_check(const std::filesystem::path& database) {
  return sqlite_pragma(database, "PRAGMA integrity_check");
}

}  // namespace smallpeer::test_support
