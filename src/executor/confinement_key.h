// executor/confinement_key.h: how the child serving a policy is confined,
// and what tells one confinement from another. Both ends use it: the
// client names a request's confinement so that a resident child confined
// the same way may take it, and the resident checks the name again
// (zygote_child.h, "Residents").
#pragma once

#include <string>

#include "executor/confinement.h"
#include "snakecage/policy.h"

namespace snakecage::executor {

// How the child serving `policy` is confined: its workspace read-write;
// the installation's system mounts, the data mount and the extra mounts
// read-only; RLIMIT_CPU a little above the timeout (a backstop to it);
// fixed limits on file size and descriptors.
ConfinementSpec ConfinementSpecFor(const ExecutionPolicy& policy);

// What tells one confinement from another: every directory by its path and
// by the directory found there now (device and inode: one removed and made
// again at the same path is another directory, which a Landlock rule made
// for the first does not cover), and the limits. Equal keys, equal
// confinement. Empty when a directory cannot be stat()ed.
std::string ConfinementKey(const ConfinementSpec& spec);

}  // namespace snakecage::executor
