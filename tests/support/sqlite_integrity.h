// SQLite's own check of a store file, for tests: PRAGMA integrity_check on a separate read-only
// connection, so the production Store interface needs no test hook. Works while a Store has the
// file open (WAL readers do not block writers) and after it closed.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace smallpeer::test_support {

/// "ok" if SQLite finds `database` sound, else its report (or why the file could not be read).
inline std::string sqlite_integrity_check(const std::filesystem::path& database) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = "cannot open " + database.string() + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  std::string report;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
    report = std::string("cannot run PRAGMA integrity_check: ") + sqlite3_errmsg(db);
  } else {
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!report.empty()) report.push_back('\n');
      report += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_DONE) report = std::string("PRAGMA integrity_check failed: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return report;
}

}  // namespace smallpeer::test_support
