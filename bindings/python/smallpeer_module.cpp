// _smallpeer: the native glue of the Python package, written over the stable C header only.
// Every non-OK status raises smallpeer.errors' matching exception (built in Python from the code and
// sp_last_error_message()); every C call runs with the GIL released (so an engine thread waiting for the
// GIL in a callback can never deadlock against a lock the engine holds); callbacks take the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <smallpeer/smallpeer.h>
#include <smallpeer/smallpeer_diagnostics.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace py = pybind11;

namespace {

struct SpError {
  sp_status_t code;
  std::string message;
};

void check(sp_status_t status) {
  if (status != SP_OK) throw SpError{status, sp_last_error_message()};
}

std::string take_string(char* s) {
  std::string out = s ? s : "";
  sp_free(s);
  return out;
}

// Frees a py::object* handed to the engine as userdata; runs on whichever thread unregisters.
void free_py_object(void* userdata) {
  if (!Py_IsInitialized()) return;  // interpreter gone: leak rather than crash
  py::gil_scoped_acquire gil;
  delete static_cast<py::object*>(userdata);
}

class Token {
 public:
  explicit Token(sp_token_t* t) : token_(t) {}
  ~Token() { cancel(); }
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  void cancel() {
    sp_token_t* t = token_;
    token_ = nullptr;
    if (t) {
      py::gil_scoped_release nogil;  // waits for a running callback, which needs the GIL
      sp_token_free(t);
    }
  }
  bool active() const { return token_ != nullptr; }

 private:
  sp_token_t* token_;
};

class Ditto {
 public:
  explicit Ditto(const std::string& config_json) {
    sp_status_t st;
    {
      py::gil_scoped_release nogil;
      st = sp_ditto_open(config_json.c_str(), &d_);
    }
    check(st);
  }
  ~Ditto() {
    sp_ditto_t* d = d_;
    d_ = nullptr;
    if (d) {
      py::gil_scoped_release nogil;
      sp_ditto_free(d);
    }
  }
  Ditto(const Ditto&) = delete;
  Ditto& operator=(const Ditto&) = delete;

  sp_ditto_t* h() const { return d_; }

  void close() {
    sp_status_t st;
    {
      py::gil_scoped_release nogil;
      st = sp_ditto_close(d_);
    }
    check(st);
  }

 private:
  sp_ditto_t* d_ = nullptr;
};

void store_trampoline(void* userdata, const char* collection, const char* id, sp_change_kind_t kind, const char* document_json) {
  if (!Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  try {
    auto& fn = *static_cast<py::object*>(userdata);
    py::object doc = document_json ? py::object(py::str(document_json)) : py::object(py::none());
    fn(py::str(collection ? collection : ""), py::str(id ? id : ""), static_cast<int>(kind), doc);
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("smallpeer store observer");
  }
}

void log_trampoline(void* userdata, sp_log_level_t level, const char* message) {
  if (!Py_IsInitialized()) return;
  py::gil_scoped_acquire gil;
  try {
    auto& fn = *static_cast<py::object*>(userdata);
    fn(static_cast<int>(level), py::str(message ? message : ""));
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("smallpeer log callback");
  }
}

template <class F>
sp_status_t nogil(F&& f) {
  py::gil_scoped_release release;
  return f();
}

// Registers the Python callable `fn` through `register_fn(userdata, &token)` (a C registration call, run without the
// GIL) and returns its Token: the one way observers and log callbacks are registered. The engine owns the userdata from
// here: free_py_object runs exactly once on every path, a failed registration included (smallpeer.h's userdata rule),
// so nothing is freed here.
template <class F>
std::unique_ptr<Token> register_callback(py::function fn, F&& register_fn) {
  auto* ud = new py::object(std::move(fn));
  sp_token_t* tok = nullptr;
  check(nogil([&] { return register_fn(ud, &tok); }));
  return std::make_unique<Token>(tok);
}

}  // namespace

PYBIND11_MODULE(_smallpeer, m) {
  m.doc() = "Native glue over the SmallPeer C ABI (smallpeer.h). Use the smallpeer package instead.";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const SpError& e) {
      py::object make = py::module_::import("smallpeer.errors").attr("_from_status");
      py::object exc = make(e.code, e.message);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    }
  });

  m.attr("ABI_VERSION") = SP_ABI_VERSION;
  m.def("abi_version", &sp_abi_version);
  m.def("version", [] { return std::string(sp_version()); });
  m.def("live_handles", &sp_ditto_live_handles);

  py::class_<Token>(m, "Token").def("cancel", &Token::cancel).def_property_readonly("active", &Token::active);

  py::class_<Ditto>(m, "Ditto")
      .def(py::init<const std::string&>(), py::arg("config_json"))
      .def("close", &Ditto::close)
      .def("peer_key",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_ditto_peer_key(d.h(), &s); }));
             return take_string(s);
           })
      // Small Peer Info
      .def("spi_set_enabled", [](Ditto& d, bool on) { check(nogil([&] { return sp_spi_set_enabled(d.h(), on); })); })
      .def("spi_get_enabled",
           [](Ditto& d) {
             bool v = false;
             check(nogil([&] { return sp_spi_get_enabled(d.h(), &v); }));
             return v;
           })
      .def("spi_set_sync_scope", [](Ditto& d, int s) { check(nogil([&] { return sp_spi_set_sync_scope(d.h(), s); })); })
      .def("spi_get_sync_scope",
           [](Ditto& d) {
             sp_sync_scope_t v = 0;
             check(nogil([&] { return sp_spi_get_sync_scope(d.h(), &v); }));
             return static_cast<int>(v);
           })
      .def("spi_set_metadata_json",
           [](Ditto& d, const std::string& j) { check(nogil([&] { return sp_spi_set_metadata_json(d.h(), j.c_str()); })); })
      .def("spi_get_metadata_json",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_spi_get_metadata_json(d.h(), &s); }));
             return take_string(s);
           })
      .def("spi_set_device_name",
           [](Ditto& d, const std::string& n) { check(nogil([&] { return sp_spi_set_device_name(d.h(), n.c_str()); })); })
      .def("spi_get_device_name",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_spi_get_device_name(d.h(), &s); }));
             return take_string(s);
           })
      .def("spi_set_collection_interval_ms",
           [](Ditto& d, int64_t ms) { check(nogil([&] { return sp_spi_set_collection_interval_ms(d.h(), ms); })); })
      .def("spi_get_collection_interval_ms",
           [](Ditto& d) {
             int64_t v = 0;
             check(nogil([&] { return sp_spi_get_collection_interval_ms(d.h(), &v); }));
             return v;
           })
      .def("spi_collect_now",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_spi_collect_now(d.h(), &s); }));
             return take_string(s);
           })
      .def("spi_get_document",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_spi_get_document(d.h(), &s); }));
             return take_string(s);
           })
      .def("spi_set_share_with_admin_devices",
           [](Ditto& d, bool share) { check(nogil([&] { return sp_spi_set_share_with_admin_devices(d.h(), share); })); })
      .def("spi_get_share_with_admin_devices",
           [](Ditto& d) {
             bool share = false;
             check(nogil([&] { return sp_spi_get_share_with_admin_devices(d.h(), &share); }));
             return share;
           })
      .def("spi_is_admin_device",
           [](Ditto& d) {
             bool is_admin = false;
             check(nogil([&] { return sp_spi_is_admin_device(d.h(), &is_admin); }));
             return is_admin;
           })
      .def("spi_get_fleet_json",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_spi_get_fleet_json(d.h(), &s); }));
             return take_string(s);
           })
      // Store
      .def("store_upsert",
           [](Ditto& d, const std::string& c, const std::string& doc) {
             char* s = nullptr;
             check(nogil([&] { return sp_store_upsert(d.h(), c.c_str(), doc.c_str(), &s); }));
             return take_string(s);
           })
      .def("store_get",
           [](Ditto& d, const std::string& c, const std::string& id) {
             char* s = nullptr;
             check(nogil([&] { return sp_store_get(d.h(), c.c_str(), id.c_str(), &s); }));
             return take_string(s);
           })
      .def(
          "store_find_all",
          [](Ditto& d, const std::string& c, int32_t limit, std::optional<std::string> after) {
            char* s = nullptr;
            check(nogil([&] { return sp_store_find_all(d.h(), c.c_str(), limit, after ? after->c_str() : nullptr, &s); }));
            return take_string(s);
          },
          py::arg("collection"), py::arg("limit"), py::arg("after_id") = py::none())
      .def(
          "store_execute",
          [](Ditto& d, const std::string& query, std::optional<std::string> args_json) {
            char* s = nullptr;
            check(nogil([&] { return sp_store_execute(d.h(), query.c_str(), args_json ? args_json->c_str() : nullptr, &s); }));
            return take_string(s);
          },
          py::arg("query"), py::arg("args_json") = py::none())
      .def("store_remove",
           [](Ditto& d, const std::string& c, const std::string& id) {
             bool removed = false;
             check(nogil([&] { return sp_store_remove(d.h(), c.c_str(), id.c_str(), &removed); }));
             return removed;
           })
      .def("store_collection_names",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_store_collection_names(d.h(), &s); }));
             return take_string(s);
           })
      .def("store_observe",
           [](Ditto& d, const std::string& c, py::function fn) {
             return register_callback(std::move(fn), [&](void* ud, sp_token_t** tok) {
               return sp_store_observe(d.h(), c.c_str(), store_trampoline, ud, free_py_object, tok);
             });
           })
      .def("spi_set_admin_signing_key",
           [](Ditto& d, const std::string& k) { check(nogil([&] { return sp_spi_set_admin_signing_key(d.h(), k.c_str()); })); })
      .def("spi_get_admin_signing_key",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_spi_get_admin_signing_key(d.h(), &s); }));
             return take_string(s);
           })
      .def("spi_observe_fleet",
           [](Ditto& d, py::function fn) {
             return register_callback(std::move(fn), [&](void* ud, sp_token_t** tok) {
               return sp_spi_observe_fleet(d.h(), store_trampoline, ud, free_py_object, tok);
             });
           })
      .def("store_set_collection_scope",
           [](Ditto& d, const std::string& c, int s) {
             check(nogil([&] { return sp_store_set_collection_scope(d.h(), c.c_str(), s); }));
           })
      .def("store_get_collection_scope",
           [](Ditto& d, const std::string& c) {
             sp_sync_scope_t v = 0;
             check(nogil([&] { return sp_store_get_collection_scope(d.h(), c.c_str(), &v); }));
             return static_cast<int>(v);
           })
      // Sync
      .def("sync_set_transport_config",
           [](Ditto& d, const std::string& j) { check(nogil([&] { return sp_sync_set_transport_config(d.h(), j.c_str()); })); })
      .def("sync_get_transport_config",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_sync_get_transport_config(d.h(), &s); }));
             return take_string(s);
           })
      .def("sync_start", [](Ditto& d) { check(nogil([&] { return sp_sync_start(d.h()); })); })
      .def("sync_stop", [](Ditto& d) { check(nogil([&] { return sp_sync_stop(d.h()); })); })
      .def("sync_is_running",
           [](Ditto& d) {
             bool v = false;
             check(nogil([&] { return sp_sync_is_running(d.h(), &v); }));
             return v;
           })
      .def("sync_lan_port",
           [](Ditto& d) {
             int32_t v = 0;
             check(nogil([&] { return sp_sync_lan_port(d.h(), &v); }));
             return v;
           })
      .def("presence_json",
           [](Ditto& d) {
             char* s = nullptr;
             check(nogil([&] { return sp_presence_get_json(d.h(), &s); }));
             return take_string(s);
           })
      .def("log", [](Ditto& d, int level,
                     const std::string& msg) { check(nogil([&] { return sp_ditto_log(d.h(), level, msg.c_str()); })); })
      .def(
          "send_logs",
          [](Ditto& d, std::optional<std::string> options) {
            char* id = nullptr;
            check(nogil([&] { return sp_ditto_send_logs(d.h(), options ? options->c_str() : nullptr, &id); }));
            return take_string(id);
          },
          py::arg("options_json") = py::none());

  // Logger (process-wide)
  m.def("logger_set_enabled", [](bool on) { check(nogil([&] { return sp_logger_set_enabled(on); })); });
  m.def("logger_get_enabled", [] {
    bool v = false;
    check(nogil([&] { return sp_logger_get_enabled(&v); }));
    return v;
  });
  m.def("logger_set_minimum_level", [](int l) { check(nogil([&] { return sp_logger_set_minimum_level(l); })); });
  m.def("logger_get_minimum_level", [] {
    sp_log_level_t v = 0;
    check(nogil([&] { return sp_logger_get_minimum_level(&v); }));
    return static_cast<int>(v);
  });
  m.def("logger_set_log_file", [](std::optional<std::string> path) {
    check(nogil([&] { return sp_logger_set_log_file(path ? path->c_str() : nullptr); }));
  });
  m.def("logger_set_console_enabled", [](bool on) { check(nogil([&] { return sp_logger_set_console_enabled(on); })); });
  m.def("logger_add_callback", [](py::function fn) {
    return register_callback(std::move(fn), [](void* ud, sp_token_t** tok) {
      return sp_logger_add_callback(log_trampoline, ud, free_py_object, tok);
    });
  });
  m.def(
      "logger_export_to_file",
      [](const std::string& path, std::optional<std::string> options) {
        uint64_t bytes = 0;
        check(nogil([&] { return sp_logger_export_to_file(path.c_str(), options ? options->c_str() : nullptr, &bytes); }));
        return bytes;
      },
      py::arg("path"), py::arg("options_json") = py::none());
}
