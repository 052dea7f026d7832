// executor/zygote_server.h: the zygote's side of the wire (wire.h), from
// user_code_begin until the client goes. Serve() is the zygote's
// BeginHandler (engine/guest_runner.h); it returns only in a child, with
// that child's context.
//
// Each "run" request goes to the oldest of kSpares children forked ahead of
// time (a fresh one is forked right after), or to one forked then. Spares
// touch the zygote's warm pages while they wait; the first children teach
// which pages those are (page_warming.h). The zygote tells the client the
// child's pid and, when it has reaped it, its wait status; "kill" sends
// SIGKILL; "warmed" tells the client how many pages spares touch. A request
// handed to a spare that dies before acknowledging it is re-run in a child
// forked then, so no request is lost. When the client closes the control
// socket the zygote kills its children and exits.
//
// Residents (zygote_child.h): a request that names its "confinement" (the
// client's ConfinementKey) goes to an idle resident confined under that key
// if there is one ("started" then says "reused"), else to a spare, whose
// socket the zygote keeps so that the child may become one. A resident's
// 'I' ends its request ("finished", in place of "exited"); when it exits,
// its socket closes and it is reaped like any child. At most kMaxResidents
// are kept (the least recently used idle one goes first: the zygote closes
// its socket and it exits), and none idle longer than kResidentIdle.
//
// Thread-safety: single-threaded; SIGCHLD must be blocked in every thread
// (Init() does it, before the guest thread exists).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/unique_fd.h"
#include "engine/guest_runner.h"
#include "executor/page_warming.h"
#include "executor/zygote_child.h"

namespace snakecage::executor {

// Everything a child must keep lives in its ExecutionChild: a child returns
// from Serve() through the zygote's frames, whose locals are destroyed on the
// way (a descriptor held by one of them would be closed).
class ZygoteServer {
 public:
  // `control`: the client's socket (SOCK_SEQPACKET).
  ZygoteServer(UniqueFd control, ChildSettings settings);
  ZygoteServer(const ZygoteServer&) = delete;
  ZygoteServer& operator=(const ZygoteServer&) = delete;

  // Blocks SIGCHLD (delivered through a signalfd from then on). Call before
  // any thread is created, so that every thread inherits the mask.
  Status Init();

  // The BeginHandler: serves requests until the client goes (then exits the
  // process); returns only in a child, with the context it runs under.
  ExecutionContext* Serve(uint64_t* interrupt);

  // In a child (after Serve returned): the execution this process is.
  ExecutionChild* child() { return child_.get(); }

  // Tells the client start-up failed (the zygote exits next).
  void SendStartupFailure(const std::string& message);

  // The probe that teaches the warm pages (page_warming.h): run under
  // `policy` (whose workspace, `probe_dir`, holds the probe program as its
  // script) by kLessons children when serving starts. `probe_dir` is the
  // zygote's own; it is removed once the probes are done, or at shutdown.
  // Without a probe, spares touch nothing.
  void SetProbe(ExecutionPolicy policy, std::filesystem::path probe_dir);

  // How many spares to keep ready (default kSpares); 0: every request
  // forks its child when it comes.
  void SetSpares(size_t spares) { spares_wanted_ = spares; }

  // How the interpreter got to user_code_begin, for the "ready" message:
  // "snapshot", or why start-up ran instead.
  void SetStartup(std::string how) { startup_ = std::move(how); }

  // The guest as the zygote holds it at user_code_begin: with it, spares'
  // children may stay resident (zygote_child.h). Must outlive the server.
  void SetPristine(const PristineGuest* pristine) { settings_.pristine = pristine; }

 private:
  // A child forked ahead of its request, waiting on its own socket: forking
  // (copying the page tables, write-protecting the zygote's pages) happens
  // between requests instead of on an execution's critical path.
  struct Spare {
    pid_t pid = -1;
    UniqueFd socket;  // the zygote's end
  };
  // A request handed to a spare that has not acknowledged it yet. The zygote
  // keeps the request and a copy of its result pipe until then.
  struct Handoff {
    pid_t pid = -1;
    UniqueFd socket;
    uint64_t id = 0;
    nlohmann::ordered_json request;
    UniqueFd result_fd;  // the zygote's copy
    std::string confinement;  // the request's, when its child may stay resident
  };

  // A child that may serve another request of its confinement.
  struct Resident {
    pid_t pid = -1;
    UniqueFd socket;
    std::string confinement;
    bool busy = true;
    std::chrono::steady_clock::time_point idle_since;
  };
  // The read end of a lesson's pipe and what has arrived so far.
  struct Learner {
    UniqueFd fd;
    std::string bytes;
  };

  void Send(const nlohmann::ordered_json& message);
  // Forks the kLessons probe children; returns only in one of them.
  ExecutionContext* StartProbes(uint64_t* interrupt);
  // Removes the probe's directory once no probe child is left.
  void FinishProbes();
  // Forks spares up to kSpares; returns only in a new spare (then an
  // execution's child).
  ExecutionContext* ReplenishSpares(uint64_t* interrupt);
  // One spare; nullptr in the zygote (also when fork failed).
  ExecutionContext* ForkSpare(uint64_t* interrupt);
  // In a new spare: waits for its one request, then becomes its child.
  ExecutionContext* SpareWaits(UniqueFd socket, uint64_t* interrupt);
  // Forks a child for `request` now; returns only in that child, which
  // takes `result_fd` (the zygote keeps its copy, for the caller to close).
  // In the zygote, reports the child (or the failure) to the client.
  ExecutionContext* ForkFor(const nlohmann::ordered_json& request, UniqueFd& result_fd,
                            uint64_t id, uint64_t* interrupt);
  // A child of this zygote runs request `id`.
  void Started(pid_t pid, uint64_t id, bool reused = false);
  // Hands the request to an idle resident of its confinement; false if none.
  bool HandToResident(nlohmann::ordered_json& request, UniqueFd& result_fd, uint64_t id);
  // Keeps an acknowledged handoff's child as a (busy) resident, making room.
  void KeepResident(Handoff& h);
  // What residents said ('I') or that they went; from the poll's entries.
  void CheckResidents(const std::vector<pollfd>& fds, size_t first);
  // Lets go of residents idle longer than kResidentIdle; the poll timeout
  // until the next one is due (-1: none).
  int ExpireResidents();
  // In a new child: lets go of everything of the zygote's (its sockets,
  // pipes, lists, signal mask).
  void LetGo();
  // Reads what learner `l` sent; at its end keeps the lesson, and with
  // kLessons of them makes the warm set. False once it is done.
  bool ReadLesson(Learner& l);
  // Acknowledged handoffs are done; a spare that died first gets its request
  // re-run. Returns only in such a child.
  ExecutionContext* CheckHandoffs(const std::vector<pollfd>& fds, uint64_t* interrupt);
  // Reaps dead children and spares; tells the client about children.
  void ReapChildren();
  // One control message. Returns only in a child.
  ExecutionContext* OnRequest(uint64_t* interrupt);
  [[noreturn]] void ShutDown();

  UniqueFd control_;
  UniqueFd sigchld_;
  sigset_t original_mask_{};
  ChildSettings settings_;
  std::map<pid_t, uint64_t> children_;  // pid -> request id
  std::vector<Spare> spares_;           // oldest first
  std::vector<Handoff> handoffs_;
  std::vector<Resident> residents_;
  std::vector<Learner> learners_;
  std::vector<PageSet> lessons_;        // complete, until there are kLessons
  std::optional<ExecutionPolicy> probe_policy_;
  std::filesystem::path probe_dir_;
  std::vector<pid_t> probes_;           // probe children not reaped yet
  size_t spares_wanted_;
  std::string startup_;
  std::vector<UniqueFd> probe_results_;  // their result pipes, never read
  // The pages spares touch before their requests: learned here, inherited
  // by every spare forked after.
  std::optional<PageSet> warm_pages_;
  std::unique_ptr<ExecutionChild> child_;  // set in a child only
};

}  // namespace snakecage::executor
