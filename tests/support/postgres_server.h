// A real PostgreSQL server for tests: Debian's postgresql-15 (/usr/lib/postgresql/15/bin), initdb
// in a temporary folder, the server on a free 127.0.0.1 port (unix socket in that folder too).
// One server per test process, started on first use and stopped when the process exits; every Big
// Peer gets a fresh database. initdb and postgres refuse to run as root, and tests run as root here
// and in CI, so as root the child switches to the `postgres` system user (made by the
// postgresql-15 package) before exec, as runuser does, with the folder chowned to it. The server
// is also told to quit (SIGQUIT) if the test process dies, so none is left behind.
// If the server cannot start, first use throws with the reason (initdb's or the server's output).
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/free_port.h"

namespace smallpeer::test_support {

/// True when SMALLPEER_TEST_BACKEND=postgres: Big Peer processes then store in PostgreSQL.
inline bool postgres_backend() {
  const char* backend = std::getenv("SMALLPEER_TEST_BACKEND");
  return backend != nullptr && std::string(backend) == "postgres";
}

/// One PostgreSQL server for this test process.
class PostgresServer {
 public:
  /// Where Debian's postgresql-15 puts initdb and postgres.
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  /// The process's server, started on first use; throws std::runtime_error with the reason if it cannot start.
  static PostgresServer& shared() {
    static std::mutex mutex;
    static std::unique_ptr<PostgresServer> server;
    std::lock_guard lock(mutex);
    if (!server) server.reset(new PostgresServer());
    return *server;
  }

  ~PostgresServer() { stop(); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// The port it listens on (127.0.0.1).
  [[nodiscard]] uint16_t port() const { return port_; }
  /// A libpq URL for database `name` on this server.
  [[nodiscard]] std::string url(const std::string& name) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + name;
  }
  /// Creates a fresh, empty database and returns its URL.
  std::string create_database() {
    std::lock_guard lock(mutex_);
    const std::string name = "smallpeer_" + std::to_string(next_database_++);
    execute("postgres", "CREATE DATABASE " + name);
    return url(name);
  }
  /// The database of the Big Peer whose data directory is `data_dir` (created at its first start,
  /// kept for restarts in the same directory).
  std::string database_for(const std::filesystem::path& data_dir) {
    {
      std::lock_guard lock(mutex_);
      if (const auto it = by_data_dir_.find(data_dir.string()); it != by_data_dir_.end()) return it->second;
    }
    const std::string u = create_database();
    std::lock_guard lock(mutex_);
    return by_data_dir_.emplace(data_dir.string(), u).first->second;
  }
  /// Stops the server (fast shutdown: connections are cut), as an outage would; start_again() brings it back.
  void stop_for_outage() {
    std::lock_guard lock(mutex_);
    halt();
  }
  /// Starts the stopped server again on the same port and data; returns once it accepts connections.
  void start_again() {
    std::lock_guard lock(mutex_);
    if (pid_ <= 0) launch(port_);
  }
  /// Runs one query in database `name` and returns its rows' first two columns as text.
  std::vector<std::pair<std::string, std::string>> query(const std::string& name, const std::string& sql) const {
    PGconn* c = PQconnectdb(url(name).c_str());
    std::vector<std::pair<std::string, std::string>> rows;
    std::string error;
    if (PQstatus(c) != CONNECTION_OK) {
      error = PQerrorMessage(c);
    } else {
      PGresult* r = PQexec(c, sql.c_str());
      if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        error = PQresultErrorMessage(r);
      } else {
        for (int i = 0; i < PQntuples(r); ++i)
          rows.emplace_back(PQgetvalue(r, i, 0), PQnfields(r) > 1 ? PQgetvalue(r, i, 1) : "");
      }
      PQclear(r);
    }
    PQfinish(c);
    if (!error.empty()) throw std::runtime_error("PostgreSQL query failed: " + error);
    return rows;
  }

  /// Runs one SQL statement in database `name`; throws with the server's message on failure.
  void execute(const std::string& name, const std::string& sql) const {
    PGconn* conn = PQconnectdb(url(name).c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(conn);
      PQfinish(conn);
      throw std::runtime_error("cannot connect to the test PostgreSQL: " + message);
    }
    PGresult* result = PQexec(conn, sql.c_str());
    const auto status = PQresultStatus(result);
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + " failed: " + message);
  }

 private:
  PostgresServer() {
    char pattern[] = "/tmp/smallpeer-postgres-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("PostgreSQL: cannot make a temporary folder");
    dir_ = pattern;
    try {
      start();
    } catch (...) {
      stop();
      throw;
    }
  }

  /// As root, the postgres user's ids (the folder is chowned to it); otherwise our own.
  void resolve_user() {
    if (::geteuid() != 0) return;
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      throw std::runtime_error(
          "PostgreSQL cannot run as root and there is no 'postgres' user: install postgresql-15 "
          "(scripts/setup.sh)");
    }
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    switch_user_ = true;
    if (::chown(dir_.c_str(), uid_, gid_) != 0) throw std::runtime_error("PostgreSQL: cannot chown " + dir_.string());
  }

  /// Forks and execs `args` (as the postgres user when root), output to `log`; returns the pid.
  pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log, bool quit_with_parent) const {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("PostgreSQL: fork failed");
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec.
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        if (switch_user_ && ::fchown(fd, uid_, gid_) != 0) ::_exit(126);
      }
      if (switch_user_ && (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0)) ::_exit(126);
      // After setuid, which would clear it: the server quits if the test process dies.
      if (quit_with_parent) {
        ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
        if (::getppid() != parent) ::_exit(125);
      }
      // Nothing else of ours goes with it: a socket the test holds (a proxy's, say) must close
      // when the test closes it, not live on in the server.
      ::closefrom(3);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }

  static std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  void start() {
    using namespace std::chrono_literals;
    resolve_user();
    const std::string bin = kBinDir;
    if (!std::filesystem::exists(bin + "/postgres")) {
      throw std::runtime_error("PostgreSQL is not installed: " + bin +
                               "/postgres is missing (apt-get install postgresql-15, "
                               "or run scripts/setup.sh)");
    }
    const auto data = dir_ / "data";
    const auto initdb_log = dir_ / "initdb.log";
    const pid_t initdb = spawn(
        {bin + "/initdb", "-D", data.string(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"},
        initdb_log, false);
    int status = 0;
    ::waitpid(initdb, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("PostgreSQL: initdb failed (status " + std::to_string(status) + "):\n" + read_file(initdb_log));
    }
    // The port is free when chosen; another process may take it first, so a few tries.
    std::string last_log;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (launch(free_loopback_port("PostgreSQL"), &last_log)) return;
    }
    throw std::runtime_error("PostgreSQL did not start:\n" + last_log);
  }

  /// Starts the server on `port`; true once it accepts connections, false if it exited (its log
  /// in `log`); throws if it neither answers nor exits within 30 s, or exits with no `log` to fill.
  bool launch(uint16_t port, std::string* log = nullptr) {
    using namespace std::chrono_literals;
    const std::string bin = kBinDir;
    const auto data = dir_ / "data";
    int status = 0;
    {
      port_ = port;
      const auto server_log = dir_ / "server.log";
      // fsync off: a test database need not survive a power cut, and syncing would slow every test.
      pid_ = spawn({bin + "/postgres", "-D", data.string(), "-k", dir_.string(), "-h", "127.0.0.1", "-p", std::to_string(port_),
                    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
                   server_log, true);
      const auto deadline = std::chrono::steady_clock::now() + 30s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        const std::string conninfo = url("postgres");
        if (PQping(conninfo.c_str()) == PQPING_OK) return true;
        std::this_thread::sleep_for(50ms);
      }
      const std::string text = read_file(server_log);
      if (pid_ > 0) throw std::runtime_error("PostgreSQL did not accept connections within 30 s:\n" + text);
      if (log == nullptr) throw std::runtime_error("PostgreSQL did not start again:\n" + text);
      *log = text;
    }
    return false;
  }

  void stop() {
    halt();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  void halt() {
    if (pid_ > 0) {
      // Fast shutdown; immediate if it takes too long.
      ::kill(pid_, SIGINT);
      int status = 0;
      for (int i = 0; i < 200 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(50'000);
      if (::waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGQUIT);
        ::waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
  }

  std::filesystem::path dir_;
  bool switch_user_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::mutex mutex_;
  int next_database_ = 1;
  std::map<std::string, std::string> by_data_dir_;
};

}  // namespace smallpeer::test_support
