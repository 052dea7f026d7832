// In `snakecage`, the commands that need cpp-httplib are handed over to
// snakecage-http (commands.h, BenchEntry/ServeEntry).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "engine/installation.h"

namespace snakecage::cli {
namespace {

int HandOver(char** argv) {
  const StatusOr<Installation>& installation = ThisInstallation();
  if (!installation.ok()) return ExitFor(installation.status());
  const std::string program = installation->http_commands_program().string();
  execv(program.c_str(), argv);
  std::cerr << "snakecage: cannot start " << program << ": " << std::strerror(errno) << "\n";
  return kExitHostFailure;
}

}  // namespace

int BenchEntry(const BenchFlags&, char** argv) { return HandOver(argv); }

int ServeEntry(const ServeFlags&, char** argv) { return HandOver(argv); }

}  // namespace snakecage::cli
