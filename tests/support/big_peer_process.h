// A real `smallpeer big-peer` process for end-to-end tests, and blocking HTTP helpers to talk to
// it. The including target must define SMALLPEER_CLI as the path of the smallpeer executable, e.g.
//   target_compile_definitions(my_tests PRIVATE SMALLPEER_CLI="$<TARGET_FILE:smallpeer_cli>")
// and link libpq. With SMALLPEER_TEST_BACKEND=postgres every Big Peer stores in a fresh database of
// the process's test PostgreSQL server (postgres_server.h), one per data directory, unless the
// test passes its own --postgres.
//
// GoogleTest-free, so the benches use it without linking GoogleTest: whether to print the Big Peer's
// log when the process object goes away is asked of current_test_failed()
// (support/current_test_failed.h), which each program defines once (support/current_test_failed.cpp
// for the tests, bench/current_test_failed.cpp).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/json_read.h"
#include "support/current_test_failed.h"
#include "support/postgres_server.h"

#ifndef SMALLPEER_CLI
#error "define SMALLPEER_CLI as the path of the smallpeer executable"
#endif

extern char** environ;

namespace smallpeer::test_support {

using namespace std::chrono_literals;

/// One HTTP exchange's outcome.
struct HttpResult {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
  std::string allow;
  std::string content_disposition;
};

/// Sends `request` as it is (add Host, headers and body yourself) to 127.0.0.1:`port` and returns
/// the whole answer; over TLS trusting `ca_file` (which must name 127.0.0.1) when it is not empty.
/// Throws std::runtime_error if the connection fails or nothing comes back within `timeout`.
inline boost::beast::http::response<boost::beast::http::string_body> http_exchange(
    uint16_t port, boost::beast::http::request<boost::beast::http::string_body> request,
    const std::filesystem::path& ca_file = {}, std::chrono::milliseconds timeout = 10s) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace ssl = boost::asio::ssl;
  boost::asio::io_context io;
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  beast::error_code failure;
  const boost::asio::ip::tcp::endpoint endpoint{boost::asio::ip::make_address("127.0.0.1"), port};
  // Connect, (handshake,) write, read: the same chain over either stream.
  const auto exchange = [&](auto& stream, auto&& handshake) {
    beast::get_lowest_layer(stream).expires_after(timeout);
    beast::get_lowest_layer(stream).async_connect(endpoint, [&](beast::error_code ec) {
      if (ec) {
        failure = ec;
        return;
      }
      handshake([&](beast::error_code ec) {
        if (ec) {
          failure = ec;
          return;
        }
        http::async_write(stream, request, [&](beast::error_code ec, size_t) {
          if (ec) {
            failure = ec;
            return;
          }
          http::async_read(stream, buffer, response, [&](beast::error_code ec, size_t) { failure = ec; });
        });
      });
    });
    io.run();
  };
  if (ca_file.empty()) {
    beast::tcp_stream stream(io);
    exchange(stream, [](auto&& next) { next(beast::error_code()); });
  } else {
    ssl::context context(ssl::context::tls_client);
    context.load_verify_file(ca_file.string());
    context.set_verify_mode(ssl::verify_peer);
    context.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    exchange(stream, [&](auto&& next) { stream.async_handshake(ssl::stream_base::client, next); });
  }
  if (failure) throw std::runtime_error("HTTP " + std::string(request.target()) + " failed: " + failure.message());
  return response;
}

/// Sends one HTTP/1.1 request to 127.0.0.1:`port` and reads the answer; over TLS trusting
/// `ca_file` (which must name 127.0.0.1) when it is not empty. Throws std::runtime_error if the
/// connection fails or nothing comes back within `timeout`.
inline HttpResult http_request(uint16_t port, boost::beast::http::verb method, const std::string& target,
                               const std::optional<std::string>& bearer = std::nullopt, const std::string& body = {},
                               const std::filesystem::path& ca_file = {}, std::chrono::milliseconds timeout = 10s) {
  namespace http = boost::beast::http;
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (bearer) request.set(http::field::authorization, "Bearer " + *bearer);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  const auto response = http_exchange(port, std::move(request), ca_file, timeout);
  return {static_cast<int>(response.result_int()),          response.body(),
          std::string(response[http::field::content_type]), std::string(response[http::field::www_authenticate]),
          std::string(response[http::field::allow]),        std::string(response[http::field::content_disposition])};
}

/// GET `target` with an optional bearer token.
inline HttpResult http_get(uint16_t port, const std::string& target, const std::optional<std::string>& bearer = std::nullopt) {
  return http_request(port, boost::beast::http::verb::get, target, bearer);
}

/// Writes `bytes` as they are to 127.0.0.1:`port` and returns everything read until the server closes
/// (or `timeout` passes), for requests no HTTP library would send.
inline std::string raw_exchange(uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout = 5s) {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  std::string received;
  std::array<char, 4096> chunk{};
  std::function<void()> read_more = [&] {
    stream.async_read_some(boost::asio::buffer(chunk), [&](boost::beast::error_code ec, size_t n) {
      received.append(chunk.data(), n);
      if (!ec) read_more();
    });
  };
  stream.expires_after(timeout);
  stream.async_connect({boost::asio::ip::make_address("127.0.0.1"), port}, [&](boost::beast::error_code ec) {
    if (ec) return;
    boost::asio::async_write(stream, boost::asio::buffer(bytes), [&](boost::beast::error_code ec, size_t) {
      if (!ec) read_more();
    });
  });
  io.run();
  return received;
}

/// How to start the Big Peer; the defaults are the ones `smallpeer big-peer` uses.
struct BigPeerProcessOptions {
  std::filesystem::path data_dir;
  std::string app_id = "smallpeer-demo";
  std::string app_token = "demo-token";
  std::optional<std::string> admin_token;  // generated by the Big Peer (and read from its output) if absent
  uint16_t listen_port = 0;                // 0 picks a free port (pass an old port() to restart in place)
  std::filesystem::path tls_cert;          // with tls_key: serve https/wss; get() trusts this certificate
  std::filesystem::path tls_key;
  std::vector<std::string> extra_args;
  std::chrono::milliseconds startup_timeout = 20s;
  std::string binary = SMALLPEER_CLI;  // another build's smallpeer, for the benches' A/B runs
};

/// Node `name` of a test cluster: data in `dir / name`, on the PostgreSQL database `postgres_url`,
/// with the admin token the cluster tests' nodes share.
inline BigPeerProcessOptions cluster_node_options(const std::filesystem::path& dir, const std::string& name,
                                                  const std::string& postgres_url) {
  BigPeerProcessOptions options;
  options.data_dir = dir / name;
  options.admin_token = "cluster-admin";
  options.extra_args = {"--postgres", postgres_url};
  return options;
}

/// A `smallpeer big-peer --listen 127.0.0.1:PORT` child process (a free port unless told). The
/// constructor returns once its ready file (--ready-file) appeared (or throws, with its output); the
/// destructor stops it (SIGTERM).
class BigPeerProcess {
 public:
  /// How the process ended.
  struct Exit {
    bool exited = false;                // ended by exit(), not by a signal
    int code = -1;                      // exit status when `exited`
    int signal = 0;                     // the signal that ended it otherwise
    std::chrono::milliseconds took{0};  // from SIGTERM to its end
  };

  /// Starts the process and waits until it is ready.
  explicit BigPeerProcess(BigPeerProcessOptions options) : options_(std::move(options)) {
    log_path_ = std::filesystem::temp_directory_path() /
                ("smallpeer-big-peer-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++) + ".log");
    ready_path_ = log_path_;
    ready_path_.replace_extension(".ready.json");
    // A file of the same name may be left by a killed process whose pid this one reuses (pids wrap
    // at 32768 here): read as this Big Peer's, it would send the test to a port nobody listens on.
    std::error_code stale;
    std::filesystem::remove(ready_path_, stale);
    std::vector<std::string> args = {options_.binary, "big-peer",
                                     "--listen",      "127.0.0.1:" + std::to_string(options_.listen_port),
                                     "--data",        options_.data_dir.string(),
                                     "--app-id",      options_.app_id,
                                     "--app-token",   options_.app_token,
                                     "--ready-file",  ready_path_.string()};
    if (options_.admin_token) {
      args.push_back("--admin-token");
      args.push_back(*options_.admin_token);
    }
    if (!options_.tls_cert.empty()) {
      args.insert(args.end(), {"--tls-cert", options_.tls_cert.string(), "--tls-key", options_.tls_key.string()});
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    if (postgres_backend() && std::find(args.begin(), args.end(), "--postgres") == args.end()) {
      args.insert(args.end(), {"--postgres", PostgresServer::shared().database_for(options_.data_dir)});
    }
    spawn(args);
    wait_until_ready();
  }

  ~BigPeerProcess() {
    if (running()) stop();
    if (current_test_failed()) std::cerr << "--- big-peer stderr ---\n" << log_text() << "--- end ---\n";
    std::error_code ec;
    std::filesystem::remove(log_path_, ec);
    std::filesystem::remove(ready_path_, ec);
  }
  BigPeerProcess(const BigPeerProcess&) = delete;
  BigPeerProcess& operator=(const BigPeerProcess&) = delete;

  /// The port it listens on.
  [[nodiscard]] uint16_t port() const { return port_; }
  /// The admin token (given, or read from its output).
  [[nodiscard]] const std::string& admin_token() const { return admin_token_; }
  /// The app id small peers must present.
  [[nodiscard]] const std::string& app_id() const { return options_.app_id; }
  /// The app token small peers must present.
  [[nodiscard]] const std::string& app_token() const { return options_.app_token; }
  /// Its data directory.
  [[nodiscard]] const std::filesystem::path& data_dir() const { return options_.data_dir; }
  /// The Big Peer's own peer key.
  [[nodiscard]] const std::string& peer_key() const { return peer_key_; }
  /// The small peers' sync URL, ws://127.0.0.1:PORT/sync (wss:// with TLS).
  [[nodiscard]] std::string sync_url() const {
    return (tls() ? "wss://127.0.0.1:" : "ws://127.0.0.1:") + std::to_string(port_) + "/sync";
  }
  /// A small peer's transport config that syncs with this Big Peer only.
  [[nodiscard]] std::string transport_json() const { return R"({"big_peer":{"urls":[")" + sync_url() + R"("]}})"; }
  /// True when it serves https and wss.
  [[nodiscard]] bool tls() const { return !options_.tls_cert.empty(); }
  /// The process id.
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// Where it wrote its facts as JSON once it listened (--ready-file); gone once it stopped.
  [[nodiscard]] const std::filesystem::path& ready_file() const { return ready_path_; }
  /// True until stop() has seen it end.
  [[nodiscard]] bool running() const { return pid_ > 0 && !exit_; }

  /// GET `target`, with the admin token unless `authorized` is false.
  [[nodiscard]] HttpResult get(const std::string& target, bool authorized = true) const {
    return http_request(port_, boost::beast::http::verb::get, target,
                        authorized ? std::optional<std::string>(admin_token_) : std::nullopt, {}, options_.tls_cert);
  }

  /// Sends SIGTERM and waits up to `timeout` for the process to end (then SIGKILL).
  Exit stop(std::chrono::milliseconds timeout = 15s) {
    if (exit_) return *exit_;
    const auto start = std::chrono::steady_clock::now();
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (;;) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (std::chrono::steady_clock::now() - start > timeout) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    Exit e;
    e.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    e.exited = WIFEXITED(status);
    e.code = e.exited ? WEXITSTATUS(status) : -1;
    e.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    exit_ = e;
    if (reader_.joinable()) reader_.join();
    return e;
  }

  /// Every line it printed on stdout so far.
  [[nodiscard]] std::vector<std::string> output() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  /// Everything it wrote to stderr (its log) so far.
  [[nodiscard]] std::string log_text() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }

  void spawn(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // Nothing else of the test's goes with it: a socket the test closes (a proxy's, a peer's)
    // must close for real, not live on in the child.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (rc != 0) {
      ::close(pipe_fds[0]);
      throw std::runtime_error(std::string("cannot start ") + argv[0]);
    }
    // Read stdout for the whole life of the process, so it never blocks on a full pipe.
    reader_ = std::thread([this, fd = pipe_fds[0]] {
      std::string pending;
      char chunk[4096];
      for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        pending.append(chunk, static_cast<size_t>(n));
        std::lock_guard lock(mutex_);
        for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
          lines_.push_back(pending.substr(0, nl));
        }
        changed_.notify_all();
      }
      ::close(fd);
      std::lock_guard lock(mutex_);
      stdout_closed_ = true;
      changed_.notify_all();
    });
  }

  // Waits for the ready file (`--ready-file`: JSON written whole once it listens) and reads the
  // port, peer key and admin token from it; the log lines are for people and may change.
  void wait_until_ready() {
    const auto deadline = std::chrono::steady_clock::now() + options_.startup_timeout;
    std::optional<std::string> ready;
    for (;;) {
      if (std::ifstream in{ready_path_}; in) {
        ready.emplace(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        break;
      }
      std::unique_lock lock(mutex_);
      if (stdout_closed_ || std::chrono::steady_clock::now() > deadline) break;
      changed_.wait_for(lock, 20ms);
    }
    simdjson::dom::parser parser;
    simdjson::dom::object facts;
    if (!ready || parser.parse(*ready).get_object().get(facts) != simdjson::SUCCESS) {
      std::string out;
      {
        std::lock_guard lock(mutex_);
        for (const auto& l : lines_) out += l + "\n";
      }
      stop(2s);
      const std::string log = log_text();
      std::error_code ec;
      std::filesystem::remove(log_path_, ec);
      throw std::runtime_error("big-peer did not start" + (ready ? ": unreadable ready file " + *ready : std::string()) + "\n" +
                               out + log);
    }
    const std::string url = string_member(facts, "url").value_or("");
    port_ = static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
    peer_key_ = string_member(facts, "peer_key").value_or("");
    admin_token_ = string_member(facts, "admin_token").value_or("");
  }

  BigPeerProcessOptions options_;
  std::filesystem::path log_path_;
  std::filesystem::path ready_path_;
  pid_t pid_ = -1;
  std::optional<Exit> exit_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  bool stdout_closed_ = false;
  uint16_t port_ = 0;
  std::string peer_key_;
  std::string admin_token_;
};

}  // namespace smallpeer::test_support
