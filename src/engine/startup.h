// engine/startup.h: what the guest interpreter reads when it starts, as
// opposed to what it re-reads where the user's code begins.
//
// CPython's start-up parses the interpreter options and the script path in
// argv and reads a few environment variables (PYTHON*, LC_*, LANG); after
// snakecage.user_code_begin the guest re-reads the whole argv and
// environment (guest/snakecage_main.c). Every start-up, cold or a zygote's,
// is shown only StartupArgv/StartupEnv, and the rest from
// user_code_begin on, so the interpreter's state where the user's code
// starts, and with it the fuel the code is charged, does not depend on how
// the interpreter was started nor on the script's arguments.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "snakecage/policy.h"

namespace snakecage {

// argv up to and including the script path (the default argv's second
// element for this guest_mount_path); the whole argv when it has none.
std::vector<std::string> StartupArgv(const ExecutionPolicy& policy);

// The policy's variables start-up reads (PYTHON*, LC_*, LANG), in order.
EnvironmentVariables StartupEnv(const ExecutionPolicy& policy);

}  // namespace snakecage
