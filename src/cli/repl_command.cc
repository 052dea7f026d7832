// `snakecage repl`: a person's prompt over a session that keeps its state
// (commands.h).
//
// Each input is sent as one execution whose code hands the text to
// code.InteractiveInterpreter (in __main__'s namespace, compiled as
// Python's own prompt compiles: mode "single", so an expression's value is
// shown). The wrapper assigns no global name. The guest answers three ways:
//   - the text is not complete yet (a block still open): it ran nothing and
//     exits with kIncompleteMarker on stderr; the prompt asks for more
//     ("... ") and sends the longer text next time;
//   - the statement raised: the interpreter printed the traceback, and the
//     wrapper exits 1, so the execution fails and the state is rolled back;
//   - otherwise it succeeded and the state is committed.
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "snakecage/executor.h"
#include "snakecage/policy.h"
#include "snakecage/sandbox.h"

namespace snakecage::cli {
namespace {

constexpr std::string_view kIncompleteMarker = "\x01snakecage: incomplete input";

// A Python string literal holding `text` exactly (every byte outside
// printable ASCII, and the quote and backslash, escaped).
std::string PythonLiteral(const std::string& text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (unsigned char c : text) {
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "'";
}

// The execution's code for one input; UTF-8 text arrives as its bytes and
// is decoded in the guest.
std::string CellCode(const std::string& input) {
  return "(lambda i, s, src: (setattr(s, 'last_value', None), "
         "i.runsource(src, '<stdin>', 'single') and s.exit(" +
         PythonLiteral(std::string(kIncompleteMarker)) +
         "), s.last_value is None or s.exit(1)))"
         "(__import__('code').InteractiveInterpreter(globals()), __import__('sys'), "
         "bytes(" +
         PythonLiteral(input) + ", 'latin-1').decode('utf-8', 'replace'))\n";
}

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// What happened, on one line: the state, the fuel, the time.
std::string StatusLine(const SandboxResult& r) {
  const ExecutionMetadata& m = r.metadata;
  std::string line = "[";
  if (m.trap_reason) line += std::string(TrapReasonWireName(*m.trap_reason)) + "; ";
  if (m.state) {
    switch (*m.state) {
      case StateOutcome::kCommitted:
        line += "state kept";
        break;
      case StateOutcome::kRolledBack:
        line += "rolled back: the state is as it was before";
        break;
      case StateOutcome::kFresh:
        line += "fresh state: " + m.state_reason;
        break;
      case StateOutcome::kRestored:
        line += "restored state: " + m.state_reason;
        for (size_t i = 0; i < m.state_dropped.size(); ++i) {
          line += (i == 0 ? "; not kept: " : ", ") + m.state_dropped[i];
        }
        break;
    }
  }
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f ms", r.duration_ms);
  return line + "; fuel " + WithThousands(r.fuel_consumed) + "; " + ms + "]\n";
}

bool IsBlank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

}  // namespace

int ReplCommand(const ReplFlags& flags) {
  StatusOr<ExecutionPolicy> base = PolicyFileOrDefaults(flags.policy);
  if (!base.ok()) return ExitFor(base.status());
  ExecutionPolicyBuilder builder(*base);
  if (Status s = ApplyPolicyFlags(flags.policy_fields, builder); !s.ok()) return ExitFor(s);
  StatusOr<ExecutionPolicy> policy = builder.keep_state(true).Build();
  if (!policy.ok()) return ExitFor(policy.status());
  if (Status s = CheckSessionId(flags.session); !s.ok()) return ExitFor(s);
  StatusOr<std::shared_ptr<TelemetryLogger>> logger = OpenLogFile(flags.log_file);
  if (!logger.ok()) return ExitFor(logger.status());
  SandboxOptions options;
  options.policy = *policy;
  options.session_id = flags.session;
  options.logger = *logger;
  options.workspace_root = flags.workspace_root ? *flags.workspace_root : "workspace";
  // Its own executor: when it goes (at Ctrl-D), the state's globals are
  // saved beside the workspace, and the next repl or run --keep-state of
  // the session restores them.
  options.executor = std::make_shared<Executor>();
  StatusOr<std::unique_ptr<PythonSandbox>> sandbox = CreateSandbox(std::move(options));
  if (!sandbox.ok()) return ExitFor(sandbox.status());

  std::cout << "snakecage repl: session " << flags.session
            << " (Python 3.11 in a sandbox). The state is kept between inputs and a failed "
               "one is rolled back; files in the workspace are never rolled back. Ctrl-D "
               "leaves.\n";
  // The lines of the input so far, joined by newlines without a final one,
  // as Python's own console joins them: a block stays open until a blank
  // line closes it.
  std::string pending;
  bool reading_more = false;
  for (;;) {
    std::cout << (reading_more ? "... " : ">>> ") << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) {
      std::cout << "\n";
      return 0;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!reading_more && IsBlank(line)) continue;
    pending = reading_more ? pending + "\n" + line : line;
    StatusOr<SandboxResult> r = (*sandbox)->Execute(CellCode(pending));
    reading_more = false;
    if (!r.ok()) {
      std::cerr << "snakecage: " << r.status().message() << "\n";
      continue;
    }
    if (r->exit_code == 1 && !r->metadata.trapped &&
        r->stderr_text == std::string(kIncompleteMarker) + "\n" && r->stdout_text.empty()) {
      reading_more = true;  // a block still open
      continue;
    }
    std::cout << r->stdout_text << std::flush;
    std::cerr << r->stderr_text << StatusLine(*r) << std::flush;
  }
}

}  // namespace snakecage::cli
