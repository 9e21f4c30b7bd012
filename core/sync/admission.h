// What every listener (the Big Peer's /sync, a small peer's LAN port) does before a peer is
// authenticated: at most so many handshakes at once, in total and per source address, and a
// back-off when accepting fails (out of descriptors), so a stranger can neither make a process
// allocate without bound nor make its accept loop spin.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace smallpeer::sync {

/// Caps on concurrent unauthenticated connections.
struct AdmissionLimits {
  size_t total = 1024;       // handshakes in progress, all sources together
  size_t per_address = 256;  // handshakes in progress from one IP address
};

/// Counts connections from accept until they authenticated or closed; thread-safe.
class HandshakeAdmission {
 public:
  /// One admitted connection; gives its place back once, on release() or destruction.
  class Ticket {
   public:
    ~Ticket() { release(); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    /// Gives the place back (idempotent): call when the peer authenticated or the connection ended.
    void release();

   private:
    friend class HandshakeAdmission;
    struct Counts;
    Ticket(std::shared_ptr<Counts> counts, std::string address) : counts_(std::move(counts)), address_(std::move(address)) {}
    std::shared_ptr<Counts> counts_;
    std::string address_;
    bool released_ = false;
  };

  /// Admits up to `limits` at once; throws Error(invalid_argument) for a zero limit.
  explicit HandshakeAdmission(AdmissionLimits limits);
  /// A ticket for a new connection from IP `address`, or nullptr when a cap is reached (close it then).
  std::shared_ptr<Ticket> admit(const std::string& address);
  /// Connections admitted and not yet released.
  [[nodiscard]] size_t pending() const;
  /// The limits in force.
  [[nodiscard]] const AdmissionLimits& limits() const { return limits_; }

 private:
  AdmissionLimits limits_;
  std::shared_ptr<Ticket::Counts> counts_;
};

/// The one back-off of every accept loop: after a failed accept (EMFILE, ENFILE, ENOBUFS, ...) wait
/// before accepting again instead of re-arming at once, which spins a core while the descriptors
/// stay in use. Not thread-safe: each listener uses its own, on its own strand.
class AcceptBackoff {
 public:
  /// First and longest wait.
  static constexpr std::chrono::milliseconds kFirst{50}, kMax{1000};
  /// The wait before the next accept after a failure: 50 ms, doubling to 1 s while failures go on.
  std::chrono::milliseconds failed();
  /// An accept succeeded: the next failure starts over from the shortest wait.
  void succeeded() { delay_ = std::chrono::milliseconds(0); }
  /// True if the last failure was the first of its run (log it once, not every retry).
  [[nodiscard]] bool first_failure() const { return delay_ == kFirst; }

 private:
  std::chrono::milliseconds delay_{0};
};

}  // namespace smallpeer::sync
