// snakecage._native: the C++ library (libsnakecage) as seen from Python.
//
// Thin on purpose: values cross as JSON text (the library's own
// PolicyToJson/PolicyFromJson and SandboxResultToJson), failures as
// StatusError(code, message), and the Python side (snakecage/*.py) builds
// the models, the exceptions of the contract and the logger calls.
//
// Telemetry: every call that can emit events returns them with its value,
// as a list of (level, logger, event, fields_json) in the order the library
// emitted them (execute() only when asked: without a logger nobody reads them). A call collects the events of its own thread only (the
// library logs on the calling thread), so concurrent calls never see each
// other's events, and no Python code runs while the GIL is released.
//
// Processes that fork: a child must never use (nor destroy) the parent's
// executor: its zygotes answer on sockets the parent reads. Each process
// gets its own executor on first use; the parent's is deliberately leaked in
// the child, and the child's zygotes exit when its control sockets close
// with the process.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "snakecage/policy.h"
#include "snakecage/sandbox.h"
#include "snakecage/session.h"
#include "snakecage/status.h"
#include "snakecage/telemetry.h"
#include "snakecage/version.h"

namespace py = pybind11;

namespace snakecage {
namespace python {
namespace {

using Json = nlohmann::ordered_json;

// A Status that is not OK, on its way to Python as StatusError.
struct StatusError {
  Status status;
};

void ThrowIfError(const Status& s) {
  if (!s.ok()) throw StatusError{s};
}
template <typename T>
T ValueOrThrow(StatusOr<T>&& s) {
  if (!s.ok()) throw StatusError{s.status()};
  return std::move(s).value();
}

// ---- telemetry -------------------------------------------------------------

struct Event {
  LogLevel level;
  std::string logger;
  TelemetryEvent event;
  std::string fields;  // JSON object
};

// The events of the call running on this thread, or null outside a call.
thread_local std::vector<Event>* current_events = nullptr;

// The library's logger for everything made here: hands each event to the
// call that caused it.
class CallEventsLogger final : public TelemetryLogger {
 public:
  void Log(LogLevel level, std::string_view logger, TelemetryEvent event,
           const Json& fields) override {
    if (current_events == nullptr) return;  // not caused by a call from Python
    // Invalid UTF-8 (a path the guest gave) becomes U+FFFD.
    current_events->push_back(Event{level, std::string(logger), event,
                                    fields.dump(-1, ' ', false, Json::error_handler_t::replace)});
  }
};

std::shared_ptr<TelemetryLogger> EventsLogger() {
  static auto* logger = new std::shared_ptr<TelemetryLogger>(std::make_shared<CallEventsLogger>());
  return *logger;
}

// Collects the events emitted on this thread while alive.
class CollectEvents {
 public:
  CollectEvents() : previous_(current_events) { current_events = &events_; }
  ~CollectEvents() { current_events = previous_; }
  CollectEvents(const CollectEvents&) = delete;
  CollectEvents& operator=(const CollectEvents&) = delete;

  // (level, logger, event, fields_json) tuples. Needs the GIL.
  py::list ToPython() const {
    py::list out;
    for (const Event& e : events_) {
      out.append(py::make_tuple(std::string(LogLevelName(e.level)), e.logger,
                                std::string(TelemetryEventName(e.event)), e.fields));
    }
    return out;
  }

 private:
  std::vector<Event> events_;
  std::vector<Event>* previous_;
};

// ---- the executor of this process --------------------------------------------

// Guards the executor pointer. Held by the forking thread across fork()
// (pthread_atfork below), so a child never inherits it locked.
std::mutex executor_mu;

namespace this_process {
pid_t owner = 0;
std::shared_ptr<Executor>* executor = nullptr;  // never destroyed: see top
}  // namespace this_process

std::shared_ptr<Executor> ExecutorOfThisProcess() {
  std::lock_guard<std::mutex> lock(executor_mu);
  if (this_process::executor == nullptr || this_process::owner != getpid()) {
    this_process::executor = new std::shared_ptr<Executor>(std::make_shared<Executor>());
    this_process::owner = getpid();
  }
  return *this_process::executor;
}

std::shared_ptr<Executor> ExistingExecutorOfThisProcess() {
  std::lock_guard<std::mutex> lock(executor_mu);
  if (this_process::executor == nullptr || this_process::owner != getpid()) return nullptr;
  return *this_process::executor;
}

// A deleted session's kept Python state (auto_persist_globals) goes with it.
void DropStateOf(const std::string& root, const std::string& id) {
  if (std::shared_ptr<Executor> executor = ExistingExecutorOfThisProcess()) {
    executor->DropState(SessionStore(root).WorkspacePath(id));
  }
}

void RegisterForkHandlers() {
  pthread_atfork([] { executor_mu.lock(); }, [] { executor_mu.unlock(); },
                 [] { executor_mu.unlock(); });
}

ExecutionPolicy PolicyOrThrow(const std::string& policy_json) {
  Json parsed = Json::parse(policy_json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) throw StatusError{InvalidArgument("policy: not JSON")};
  return ValueOrThrow(PolicyFromJson(parsed));
}

// ---- the sandbox -------------------------------------------------------------

// One session's sandbox. The C++ sandbox is made again (without telemetry)
// when the Python policy changed since the last execution, and in a forked
// child, which must use an executor of its own.
class Sandbox {
 public:
  Sandbox(const std::string& policy_json, std::optional<std::string> session_id,
          std::string workspace_root, bool allow_non_uuid)
      : workspace_root_(std::move(workspace_root)), allow_non_uuid_(allow_non_uuid) {
    ExecutionPolicy policy = PolicyOrThrow(policy_json);
    sandbox_ = Make(std::move(policy), std::move(session_id));
    policy_json_ = policy_json;
    session_id_ = sandbox_->session_id();
    created_ = sandbox_->session_created();
    // The contract: opening an existing session refreshes its updated_at.
    if (!created_) {
      ValueOrThrow(SessionStore(workspace_root_, EventsLogger()).MarkRetrieved(session_id_));
    }
  }

  // (result_json, events)
  std::pair<std::string, std::vector<std::tuple<std::string, std::string, std::string, std::string>>>
  Execute(const std::string& code, const std::string& policy_json, bool want_events) {
    std::string result_json;
    std::vector<Event> events;
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> lock(mu_);
      if (policy_json != policy_json_ || owner_ != getpid()) {
        ExecutionPolicy policy = PolicyOrThrow(policy_json);
        if (owner_ != getpid()) {
          // The parent's sandbox holds the parent's executor: never
          // destroyed here (see the top of this file).
          (void)sandbox_.release();
        }
        CollectEvents discard;  // reopening is not a new session event
        sandbox_ = Make(std::move(policy), session_id_);
        policy_json_ = policy_json;
      }
      PythonSandbox* sandbox = sandbox_.get();
      lock.unlock();
      std::vector<Event>* previous = current_events;
      current_events = want_events ? &events : nullptr;
      const auto start = std::chrono::steady_clock::now();
      StatusOr<SandboxResult> result = sandbox->Execute(code);
      last_execute_ms_ = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - start)
                             .count();
      current_events = previous;
      if (!result.ok()) throw StatusError{result.status()};
      // A file name the guest made need not be UTF-8: U+FFFD, never a throw.
      result_json =
          SandboxResultToJson(*result).dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    std::vector<std::tuple<std::string, std::string, std::string, std::string>> out;
    out.reserve(events.size());
    for (Event& e : events) {
      out.emplace_back(std::string(LogLevelName(e.level)), std::move(e.logger),
                       std::string(TelemetryEventName(e.event)), std::move(e.fields));
    }
    return {std::move(result_json), std::move(out)};
  }

  // For bench/python_binding.py: how long the library's
  // PythonSandbox::Execute() took in this thread's last execute(), in ms
  // (what the binding adds is the rest of execute()'s time).
  static double last_execute_ms() { return last_execute_ms_; }

  // For bench/python_binding.py: `n` executions of `code` timed around the
  // library's PythonSandbox::Execute() alone (no Python in between), in ms.
  std::vector<double> TimeExecutions(const std::string& code, int n) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
      const auto start = std::chrono::steady_clock::now();
      StatusOr<SandboxResult> result = sandbox_->Execute(code);
      const auto end = std::chrono::steady_clock::now();
      if (!result.ok()) throw StatusError{result.status()};
      ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    return ms;
  }

  const std::string& session_id() const { return session_id_; }
  std::string workspace_path() const { return sandbox_->workspace_path().string(); }
  bool created() const { return created_; }

 private:
  std::unique_ptr<PythonSandbox> Make(ExecutionPolicy policy, std::optional<std::string> id) {
    SandboxOptions options;
    options.policy = std::move(policy);
    options.session_id = std::move(id);
    options.workspace_root = workspace_root_;
    options.logger = EventsLogger();
    options.allow_non_uuid = allow_non_uuid_;
    options.executor = ExecutorOfThisProcess();
    owner_ = getpid();
    return ValueOrThrow(CreateSandbox(std::move(options)));
  }

  static thread_local double last_execute_ms_;
  std::mutex mu_;  // guards sandbox_, policy_json_, owner_
  std::string workspace_root_;
  bool allow_non_uuid_;
  std::unique_ptr<PythonSandbox> sandbox_;
  std::string policy_json_;
  std::string session_id_;
  bool created_ = false;
  pid_t owner_ = 0;
};

thread_local double Sandbox::last_execute_ms_ = 0;

// Runs `f(store)` without the GIL, collecting the events; returns
// (f's value converted by `to_python`, events).
template <typename F, typename ToPython>
py::tuple WithStore(const std::string& root, F f, ToPython to_python) {
  CollectEvents events;
  SessionStore store(root, EventsLogger());
  std::optional<decltype(f(store))> value;
  {
    py::gil_scoped_release release;
    value.emplace(f(store));
  }
  if (!value->ok()) throw StatusError{value->status()};
  return py::make_tuple(to_python(**value), events.ToPython());
}

template <typename F>
py::tuple WithStoreStatus(const std::string& root, F f) {
  CollectEvents events;
  SessionStore store(root, EventsLogger());
  Status s;
  {
    py::gil_scoped_release release;
    s = f(store);
  }
  ThrowIfError(s);
  return py::make_tuple(py::none(), events.ToPython());
}

std::string MetadataJson(const SessionMetadata& m) {
  return Json{{"session_id", m.session_id},
              {"created_at", m.created_at},
              {"updated_at", m.updated_at},
              {"version", m.version},
              {"execution_count", m.execution_count}}
      .dump();
}

std::string PruneJson(const PruneReport& r) {
  Json skipped = Json::array();
  for (const auto& s : r.skipped) skipped.push_back({{"session_id", s.session_id}, {"reason", s.reason}});
  Json errors = Json::array();
  for (const auto& e : r.errors) errors.push_back({{"session_id", e.session_id}, {"message", e.message}});
  return Json{{"dry_run", r.dry_run},
              {"deleted", r.deleted},
              {"skipped", skipped},
              {"reclaimed_bytes", r.reclaimed_bytes},
              {"errors", errors}}
      .dump();
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "snakecage's C++ library; use the snakecage package, not this module.";
  m.attr("version") = std::string(kVersion);
  RegisterForkHandlers();

  static py::exception<StatusError> status_error(m, "StatusError");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::tuple args = py::make_tuple(std::string(StatusCodeName(e.status.code())), e.status.message());
      PyErr_SetObject(status_error.ptr(), args.ptr());
    }
  });

  m.def("default_policy_json", [] { return PolicyToJson(ExecutionPolicy()).dump(); },
        "The library's default policy, as PolicyToJson.");
  m.def(
      "check_policy",
      [](const std::string& policy_json) { return PolicyToJson(PolicyOrThrow(policy_json)).dump(); },
      "Builds (validates) a policy from PolicyToJson form; the built policy back, paths absolute.");
  m.def(
      "load_policy_file",
      [](const std::string& path, const std::string& base_json) {
        ExecutionPolicy base = PolicyOrThrow(base_json);
        ExecutionPolicyBuilder builder =
            ValueOrThrow(LoadPolicyBuilder(path, ExecutionPolicyBuilder(base)));
        StatusOr<ExecutionPolicy> policy = builder.Build();
        if (!policy.ok()) {
          throw StatusError{Status(policy.status().code(), path + ": " + policy.status().message())};
        }
        return PolicyToJson(*policy).dump();
      },
      "The policy file (TOML, as the CLI reads it) applied over a base policy.");
  m.def(
      "check_session_id",
      [](const std::string& id, bool allow_non_uuid) { ThrowIfError(CheckSessionId(id, allow_non_uuid)); },
      py::arg("session_id"), py::arg("allow_non_uuid") = true);
  m.def("new_session_id", &NewSessionId);
  m.def("analyse_fuel", [](uint64_t consumed, uint64_t budget, bool out_of_fuel) {
    FuelAnalysis a = AnalyseFuel(consumed, budget, out_of_fuel);
    return py::make_tuple(a.utilization_percent, std::string(FuelStatusName(a.status)));
  });

  py::class_<Sandbox>(m, "Sandbox")
      .def(py::init<const std::string&, std::optional<std::string>, std::string, bool>(),
           py::arg("policy_json"), py::arg("session_id"), py::arg("workspace_root"),
           py::arg("allow_non_uuid"))
      .def("execute", &Sandbox::Execute, py::arg("code"), py::arg("policy_json"),
           py::arg("want_events") = true)
      .def("time_executions", &Sandbox::TimeExecutions, py::arg("code"), py::arg("n"))
      .def_static("last_execute_ms", &Sandbox::last_execute_ms)
      .def_property_readonly("session_id", &Sandbox::session_id)
      .def_property_readonly("workspace_path", &Sandbox::workspace_path)
      .def_property_readonly("created", &Sandbox::created);

  // Opening a sandbox reports its session events too.
  m.def("open_sandbox", [](const std::string& policy_json, std::optional<std::string> session_id,
                           std::string workspace_root, bool allow_non_uuid) {
    CollectEvents events;
    std::unique_ptr<Sandbox> sandbox;
    {
      py::gil_scoped_release release;
      sandbox = std::make_unique<Sandbox>(policy_json, std::move(session_id),
                                          std::move(workspace_root), allow_non_uuid);
    }
    return py::make_tuple(py::cast(std::move(sandbox)), events.ToPython());
  });

  m.def("open_session", [](const std::string& root, const std::string& id, bool allow_non_uuid) {
    return WithStore(
        root, [&](SessionStore& s) { return s.OpenOrCreate(id, allow_non_uuid); },
        [](const OpenedSession& o) {
          return py::make_tuple(MetadataJson(o.metadata), o.workspace_path.string(), o.created);
        });
  });
  m.def("read_metadata", [](const std::string& root, const std::string& id) {
    return WithStore(
        root, [&](SessionStore& s) { return s.ReadMetadata(id); },
        [](const SessionMetadata& md) { return MetadataJson(md); });
  });
  m.def("workspace_path", [](const std::string& root, const std::string& id) {
    ThrowIfError(CheckSessionId(id));
    return SessionStore(root).WorkspacePath(id).string();
  });
  m.def("list_files", [](const std::string& root, const std::string& id, std::optional<std::string> glob) {
    return WithStore(
        root, [&](SessionStore& s) { return s.ListFiles(id, glob); },
        [](const std::vector<std::string>& files) {
          // Bytes: a name the guest made need not be UTF-8; Python decodes
          // them as os.listdir does (os.fsdecode).
          py::list out;
          for (const std::string& f : files) out.append(py::bytes(f));
          return out;
        });
  });
  m.def("read_file", [](const std::string& root, const std::string& id, const std::string& path) {
    return WithStore(
        root, [&](SessionStore& s) { return s.ReadFile(id, path); },
        [](const std::string& data) { return py::bytes(data); });
  });
  m.def("write_file", [](const std::string& root, const std::string& id, const std::string& path,
                         py::bytes data, bool overwrite) {
    std::string bytes = data;
    return WithStoreStatus(root, [&](SessionStore& s) { return s.WriteFile(id, path, bytes, overwrite); });
  });
  m.def("delete_path", [](const std::string& root, const std::string& id, const std::string& path,
                          bool recursive) {
    return WithStoreStatus(root, [&](SessionStore& s) { return s.DeletePath(id, path, recursive); });
  });
  m.def("delete_session", [](const std::string& root, const std::string& id) {
    return WithStoreStatus(root, [&](SessionStore& s) {
      Status deleted = s.DeleteSession(id);
      if (deleted.ok()) DropStateOf(root, id);
      return deleted;
    });
  });
  m.def("prune_sessions", [](const std::string& root, double older_than_seconds, bool dry_run) {
    auto older = std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::duration<double>(older_than_seconds));
    return WithStore(
        root,
        [&](SessionStore& s) {
          StatusOr<PruneReport> report = s.PruneSessions(older, dry_run);
          if (report.ok() && !dry_run) {
            for (const std::string& id : report->deleted) DropStateOf(root, id);
          }
          return report;
        },
        [](const PruneReport& r) { return PruneJson(r); });
  });
}

}  // namespace python
}  // namespace snakecage
