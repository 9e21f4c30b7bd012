// Delivery of C callbacks: each token owns a serial queue on the shared runtime, so callbacks run
// on an engine thread, one at a time and in order, never under an engine lock (they may call back
// into the API), and never after sp_token_free returns.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/runtime.h"
#include "smallpeer/smallpeer.h"
#include "store/store.h"

struct sp_ditto;

namespace smallpeer::capi {

/// An ordered queue of calls to one callback's userdata.
class CallbackQueue : public std::enable_shared_from_this<CallbackQueue> {
 public:
  using Call = std::function<void(void* userdata)>;
  /// Delivers to `userdata`, which `userdata_free` (may be NULL) releases after close().
  CallbackQueue(void* userdata, sp_userdata_free_fn userdata_free);
  ~CallbackQueue();
  /// Queues a call; dropped once closed.
  void push(Call call);
  /// Drops queued calls, waits for a running one (unless called from it), then frees the userdata.
  void close();

 private:
  void drain();
  std::shared_ptr<Runtime> runtime_ = Runtime::shared();
  void* userdata_;
  sp_userdata_free_fn userdata_free_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::deque<Call> calls_;
  bool draining_ = false;
  bool closed_ = false;
  bool free_after_running_ = false;
  std::thread::id running_on_;
};

/// Takes ownership of `userdata` first thing in a registration call: the queue frees it when the
/// registration fails later (the queue is destroyed) or, once registered, at sp_token_free. If the
/// queue itself cannot be made, frees `userdata` before rethrowing: exactly once on every path.
std::shared_ptr<CallbackQueue> adopt_userdata(void* userdata, sp_userdata_free_fn userdata_free);

/// Registers a change observer with `subscribe` (an engine call that returns the observer's id,
/// which Ditto::unobserve stops) and stores its token in *out_token: the one way sp_store_observe
/// and sp_spi_observe_fleet deliver changes to a C callback. Throws Error; userdata is freed then.
void observe_changes(sp_ditto* ditto, sp_store_observer_fn callback, void* userdata, sp_userdata_free_fn userdata_free,
                     sp_token** out_token, const std::function<Store::ObserverId(Store::Observer)>& subscribe);

}  // namespace smallpeer::capi

/// A registered callback: freeing it runs `unregister` once.
struct sp_token {
  std::function<void()> unregister;
};
