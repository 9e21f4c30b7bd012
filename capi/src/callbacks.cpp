#include "callbacks.h"

#include <boost/asio/post.hpp>

#include "common/error.h"
#include "convert.h"

namespace smallpeer::capi {

CallbackQueue::CallbackQueue(void* userdata, sp_userdata_free_fn userdata_free)
    : userdata_(userdata), userdata_free_(userdata_free) {}

CallbackQueue::~CallbackQueue() {
  close();
}

void CallbackQueue::push(Call call) {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  calls_.push_back(std::move(call));
  if (draining_) return;
  draining_ = true;
  boost::asio::post(runtime_->io(), [self = shared_from_this()] { self->drain(); });
}

void CallbackQueue::drain() {
  std::unique_lock lock(mutex_);
  while (!closed_ && !calls_.empty()) {
    Call call = std::move(calls_.front());
    calls_.pop_front();
    running_on_ = std::this_thread::get_id();
    lock.unlock();
    call(userdata_);
    lock.lock();
    running_on_ = {};
  }
  draining_ = false;
  if (free_after_running_ && userdata_free_) {
    // sp_token_free was called from inside this callback: free now that it has returned.
    free_after_running_ = false;
    auto free_fn = userdata_free_;
    userdata_free_ = nullptr;
    lock.unlock();
    free_fn(userdata_);
    lock.lock();
  }
  idle_.notify_all();
}

void CallbackQueue::close() {
  std::unique_lock lock(mutex_);
  if (closed_) return;
  closed_ = true;
  calls_.clear();
  if (running_on_ == std::this_thread::get_id()) {
    free_after_running_ = true;
    return;
  }
  // Wait for a call in progress only: a drain that has not started finds closed_ and calls nothing,
  // and it may be queued behind this very thread (a callback freeing another token).
  idle_.wait(lock, [&] { return running_on_ == std::thread::id(); });
  auto free_fn = userdata_free_;
  userdata_free_ = nullptr;
  lock.unlock();
  if (free_fn) free_fn(userdata_);
}

std::shared_ptr<CallbackQueue> adopt_userdata(void* userdata, sp_userdata_free_fn userdata_free) {
  try {
    return std::make_shared<CallbackQueue>(userdata, userdata_free);
  } catch (...) {
    if (userdata_free != nullptr) userdata_free(userdata);
    throw;
  }
}

void observe_changes(sp_ditto* ditto, sp_store_observer_fn callback, void* userdata, sp_userdata_free_fn userdata_free,
                     sp_token** out_token, const std::function<Store::ObserverId(Store::Observer)>& subscribe) {
  auto queue = adopt_userdata(userdata, userdata_free);  // frees userdata if anything below throws
  require_out(out_token, "out_token");
  if (callback == nullptr) throw Error(ErrorCode::invalid_argument, "callback is NULL");
  const auto id = subscribe([queue, callback](const Change& change) {
    queue->push([callback, change](void* ud) {
      callback(ud, change.collection.c_str(), change.id.c_str(),
               change.kind == ChangeKind::upsert ? SP_CHANGE_UPSERT : SP_CHANGE_REMOVE,
               change.kind == ChangeKind::upsert ? change.json.c_str() : nullptr);
    });
  });
  auto token = std::make_unique<sp_token>();
  // The token keeps the engine alive only weakly: freeing it after the handle is fine.
  std::weak_ptr<Ditto> weak = ditto->ditto;
  token->unregister = [weak, id, queue] {
    if (auto d = weak.lock()) d->unobserve(id);
    queue->close();
  };
  *out_token = token.release();
}

}  // namespace smallpeer::capi

extern "C" SP_API void sp_token_free(sp_token_t* token) {
  if (token == nullptr) return;
  std::unique_ptr<sp_token> owned(token);
  try {
    if (owned->unregister) owned->unregister();
  } catch (...) {
    // Unregistering never reports failure; the token is released regardless.
  }
}
