// Build-time check (compiled for wasm32-wasi, -fsyntax-only): every constant
// and struct layout in src/wasi/wasi_abi.h equals wasi-libc's wasi/api.h.
// Run by the wasi_abi_check target; a mismatch fails the build.
#include <stddef.h>
#include <stdint.h>
#include <wasi/api.h>

#include "wasi/wasi_abi.h"

namespace abi = snakecage::wasi::abi;

// errno: all 77 values, by their api.h names.
#define SNAKECAGE_X(name, value, api)                    \
  static_assert(abi::name == __WASI_ERRNO_##api, #name); \
  static_assert(abi::name == value, #name);
SNAKECAGE_WASI_ERRNOS(SNAKECAGE_X)
#undef SNAKECAGE_X
static_assert(sizeof(abi::Errno) == sizeof(__wasi_errno_t));

// Flags and enumerations.
static_assert(abi::kRightFdDatasync == __WASI_RIGHTS_FD_DATASYNC,
              "kRightFdDatasync");
static_assert(abi::kRightFdRead == __WASI_RIGHTS_FD_READ, "kRightFdRead");
static_assert(abi::kRightFdSeek == __WASI_RIGHTS_FD_SEEK, "kRightFdSeek");
static_assert(abi::kRightFdFdstatSetFlags == __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS,
              "kRightFdFdstatSetFlags");
static_assert(abi::kRightFdSync == __WASI_RIGHTS_FD_SYNC, "kRightFdSync");
static_assert(abi::kRightFdTell == __WASI_RIGHTS_FD_TELL, "kRightFdTell");
static_assert(abi::kRightFdWrite == __WASI_RIGHTS_FD_WRITE, "kRightFdWrite");
static_assert(abi::kRightFdAdvise == __WASI_RIGHTS_FD_ADVISE, "kRightFdAdvise");
static_assert(abi::kRightFdAllocate == __WASI_RIGHTS_FD_ALLOCATE,
              "kRightFdAllocate");
static_assert(abi::kRightPathCreateDirectory ==
                  __WASI_RIGHTS_PATH_CREATE_DIRECTORY,
              "kRightPathCreateDirectory");
static_assert(abi::kRightPathCreateFile == __WASI_RIGHTS_PATH_CREATE_FILE,
              "kRightPathCreateFile");
static_assert(abi::kRightPathLinkSource == __WASI_RIGHTS_PATH_LINK_SOURCE,
              "kRightPathLinkSource");
static_assert(abi::kRightPathLinkTarget == __WASI_RIGHTS_PATH_LINK_TARGET,
              "kRightPathLinkTarget");
static_assert(abi::kRightPathOpen == __WASI_RIGHTS_PATH_OPEN, "kRightPathOpen");
static_assert(abi::kRightFdReaddir == __WASI_RIGHTS_FD_READDIR,
              "kRightFdReaddir");
static_assert(abi::kRightPathReadlink == __WASI_RIGHTS_PATH_READLINK,
              "kRightPathReadlink");
static_assert(abi::kRightPathRenameSource == __WASI_RIGHTS_PATH_RENAME_SOURCE,
              "kRightPathRenameSource");
static_assert(abi::kRightPathRenameTarget == __WASI_RIGHTS_PATH_RENAME_TARGET,
              "kRightPathRenameTarget");
static_assert(abi::kRightPathFilestatGet == __WASI_RIGHTS_PATH_FILESTAT_GET,
              "kRightPathFilestatGet");
static_assert(abi::kRightPathFilestatSetSize ==
                  __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE,
              "kRightPathFilestatSetSize");
static_assert(abi::kRightPathFilestatSetTimes ==
                  __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES,
              "kRightPathFilestatSetTimes");
static_assert(abi::kRightFdFilestatGet == __WASI_RIGHTS_FD_FILESTAT_GET,
              "kRightFdFilestatGet");
static_assert(abi::kRightFdFilestatSetSize ==
                  __WASI_RIGHTS_FD_FILESTAT_SET_SIZE,
              "kRightFdFilestatSetSize");
static_assert(abi::kRightFdFilestatSetTimes ==
                  __WASI_RIGHTS_FD_FILESTAT_SET_TIMES,
              "kRightFdFilestatSetTimes");
static_assert(abi::kRightPathSymlink == __WASI_RIGHTS_PATH_SYMLINK,
              "kRightPathSymlink");
static_assert(abi::kRightPathRemoveDirectory ==
                  __WASI_RIGHTS_PATH_REMOVE_DIRECTORY,
              "kRightPathRemoveDirectory");
static_assert(abi::kRightPathUnlinkFile == __WASI_RIGHTS_PATH_UNLINK_FILE,
              "kRightPathUnlinkFile");
static_assert(abi::kRightPollFdReadwrite == __WASI_RIGHTS_POLL_FD_READWRITE,
              "kRightPollFdReadwrite");
static_assert(abi::kRightSockShutdown == __WASI_RIGHTS_SOCK_SHUTDOWN,
              "kRightSockShutdown");
static_assert(abi::kRightSockAccept == __WASI_RIGHTS_SOCK_ACCEPT,
              "kRightSockAccept");
static_assert(abi::kClockRealtime == __WASI_CLOCKID_REALTIME, "kClockRealtime");
static_assert(abi::kClockMonotonic == __WASI_CLOCKID_MONOTONIC,
              "kClockMonotonic");
static_assert(abi::kClockProcessCputime == __WASI_CLOCKID_PROCESS_CPUTIME_ID,
              "kClockProcessCputime");
static_assert(abi::kClockThreadCputime == __WASI_CLOCKID_THREAD_CPUTIME_ID,
              "kClockThreadCputime");
static_assert(abi::kWhenceSet == __WASI_WHENCE_SET, "kWhenceSet");
static_assert(abi::kWhenceCur == __WASI_WHENCE_CUR, "kWhenceCur");
static_assert(abi::kWhenceEnd == __WASI_WHENCE_END, "kWhenceEnd");
static_assert(abi::kFiletypeUnknown == __WASI_FILETYPE_UNKNOWN,
              "kFiletypeUnknown");
static_assert(abi::kFiletypeBlockDevice == __WASI_FILETYPE_BLOCK_DEVICE,
              "kFiletypeBlockDevice");
static_assert(abi::kFiletypeCharacterDevice == __WASI_FILETYPE_CHARACTER_DEVICE,
              "kFiletypeCharacterDevice");
static_assert(abi::kFiletypeDirectory == __WASI_FILETYPE_DIRECTORY,
              "kFiletypeDirectory");
static_assert(abi::kFiletypeRegularFile == __WASI_FILETYPE_REGULAR_FILE,
              "kFiletypeRegularFile");
static_assert(abi::kFiletypeSocketDgram == __WASI_FILETYPE_SOCKET_DGRAM,
              "kFiletypeSocketDgram");
static_assert(abi::kFiletypeSocketStream == __WASI_FILETYPE_SOCKET_STREAM,
              "kFiletypeSocketStream");
static_assert(abi::kFiletypeSymbolicLink == __WASI_FILETYPE_SYMBOLIC_LINK,
              "kFiletypeSymbolicLink");
static_assert(abi::kAdviceNormal == __WASI_ADVICE_NORMAL, "kAdviceNormal");
static_assert(abi::kAdviceSequential == __WASI_ADVICE_SEQUENTIAL,
              "kAdviceSequential");
static_assert(abi::kAdviceRandom == __WASI_ADVICE_RANDOM, "kAdviceRandom");
static_assert(abi::kAdviceWillneed == __WASI_ADVICE_WILLNEED,
              "kAdviceWillneed");
static_assert(abi::kAdviceDontneed == __WASI_ADVICE_DONTNEED,
              "kAdviceDontneed");
static_assert(abi::kAdviceNoreuse == __WASI_ADVICE_NOREUSE, "kAdviceNoreuse");
static_assert(abi::kFdflagAppend == __WASI_FDFLAGS_APPEND, "kFdflagAppend");
static_assert(abi::kFdflagDsync == __WASI_FDFLAGS_DSYNC, "kFdflagDsync");
static_assert(abi::kFdflagNonblock == __WASI_FDFLAGS_NONBLOCK,
              "kFdflagNonblock");
static_assert(abi::kFdflagRsync == __WASI_FDFLAGS_RSYNC, "kFdflagRsync");
static_assert(abi::kFdflagSync == __WASI_FDFLAGS_SYNC, "kFdflagSync");
static_assert(abi::kFstflagAtim == __WASI_FSTFLAGS_ATIM, "kFstflagAtim");
static_assert(abi::kFstflagAtimNow == __WASI_FSTFLAGS_ATIM_NOW,
              "kFstflagAtimNow");
static_assert(abi::kFstflagMtim == __WASI_FSTFLAGS_MTIM, "kFstflagMtim");
static_assert(abi::kFstflagMtimNow == __WASI_FSTFLAGS_MTIM_NOW,
              "kFstflagMtimNow");
static_assert(abi::kLookupSymlinkFollow == __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
              "kLookupSymlinkFollow");
static_assert(abi::kOflagCreat == __WASI_OFLAGS_CREAT, "kOflagCreat");
static_assert(abi::kOflagDirectory == __WASI_OFLAGS_DIRECTORY,
              "kOflagDirectory");
static_assert(abi::kOflagExcl == __WASI_OFLAGS_EXCL, "kOflagExcl");
static_assert(abi::kOflagTrunc == __WASI_OFLAGS_TRUNC, "kOflagTrunc");
static_assert(abi::kEventtypeClock == __WASI_EVENTTYPE_CLOCK,
              "kEventtypeClock");
static_assert(abi::kEventtypeFdRead == __WASI_EVENTTYPE_FD_READ,
              "kEventtypeFdRead");
static_assert(abi::kEventtypeFdWrite == __WASI_EVENTTYPE_FD_WRITE,
              "kEventtypeFdWrite");
static_assert(abi::kEventrwflagHangup ==
                  __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP,
              "kEventrwflagHangup");
static_assert(abi::kSubclockflagAbstime ==
                  __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME,
              "kSubclockflagAbstime");
static_assert(abi::kPreopentypeDir == __WASI_PREOPENTYPE_DIR,
              "kPreopentypeDir");
static_assert(abi::kDircookieStart == __WASI_DIRCOOKIE_START,
              "kDircookieStart");
// kAllRights is the union of every right api.h defines.
static_assert(
    abi::kAllRights ==
    (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |
     __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC |
     __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ADVISE |
     __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_PATH_CREATE_DIRECTORY |
     __WASI_RIGHTS_PATH_CREATE_FILE | __WASI_RIGHTS_PATH_LINK_SOURCE |
     __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_OPEN |
     __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_READLINK |
     __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |
     __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |
     __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_FILESTAT_GET |
     __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES |
     __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_REMOVE_DIRECTORY |
     __WASI_RIGHTS_PATH_UNLINK_FILE | __WASI_RIGHTS_POLL_FD_READWRITE |
     __WASI_RIGHTS_SOCK_SHUTDOWN | __WASI_RIGHTS_SOCK_ACCEPT));

// Struct layouts.
static_assert(abi::kIovecSize == sizeof(__wasi_iovec_t));
static_assert(abi::kIovecSize == sizeof(__wasi_ciovec_t));
static_assert(abi::kIovecBuf == offsetof(__wasi_iovec_t, buf));
static_assert(abi::kIovecBufLen == offsetof(__wasi_iovec_t, buf_len));
static_assert(abi::kIovecBuf == offsetof(__wasi_ciovec_t, buf));
static_assert(abi::kIovecBufLen == offsetof(__wasi_ciovec_t, buf_len));

static_assert(abi::kDirentSize == sizeof(__wasi_dirent_t));
static_assert(abi::kDirentNext == offsetof(__wasi_dirent_t, d_next));
static_assert(abi::kDirentIno == offsetof(__wasi_dirent_t, d_ino));
static_assert(abi::kDirentNamlen == offsetof(__wasi_dirent_t, d_namlen));
static_assert(abi::kDirentType == offsetof(__wasi_dirent_t, d_type));

static_assert(abi::kFdstatSize == sizeof(__wasi_fdstat_t));
static_assert(abi::kFdstatFiletype == offsetof(__wasi_fdstat_t, fs_filetype));
static_assert(abi::kFdstatFlags == offsetof(__wasi_fdstat_t, fs_flags));
static_assert(abi::kFdstatRightsBase ==
              offsetof(__wasi_fdstat_t, fs_rights_base));
static_assert(abi::kFdstatRightsInheriting ==
              offsetof(__wasi_fdstat_t, fs_rights_inheriting));

static_assert(abi::kFilestatSize == sizeof(__wasi_filestat_t));
static_assert(abi::kFilestatDev == offsetof(__wasi_filestat_t, dev));
static_assert(abi::kFilestatIno == offsetof(__wasi_filestat_t, ino));
static_assert(abi::kFilestatFiletype == offsetof(__wasi_filestat_t, filetype));
static_assert(abi::kFilestatNlink == offsetof(__wasi_filestat_t, nlink));
static_assert(abi::kFilestatSizeField == offsetof(__wasi_filestat_t, size));
static_assert(abi::kFilestatAtim == offsetof(__wasi_filestat_t, atim));
static_assert(abi::kFilestatMtim == offsetof(__wasi_filestat_t, mtim));
static_assert(abi::kFilestatCtim == offsetof(__wasi_filestat_t, ctim));

static_assert(abi::kPrestatSize == sizeof(__wasi_prestat_t));
static_assert(abi::kPrestatTag == offsetof(__wasi_prestat_t, tag));
static_assert(abi::kPrestatDirNameLen ==
              offsetof(__wasi_prestat_t, u) +
                  offsetof(__wasi_prestat_dir_t, pr_name_len));

static_assert(abi::kSubscriptionSize == sizeof(__wasi_subscription_t));
static_assert(abi::kSubscriptionUserdata ==
              offsetof(__wasi_subscription_t, userdata));
static_assert(abi::kSubscriptionTag ==
              offsetof(__wasi_subscription_t, u) +
                  offsetof(__wasi_subscription_u_t, tag));
static_assert(abi::kSubscriptionClockId ==
              offsetof(__wasi_subscription_t, u) +
                  offsetof(__wasi_subscription_u_t, u) +
                  offsetof(__wasi_subscription_clock_t, id));
static_assert(abi::kSubscriptionClockTimeout ==
              offsetof(__wasi_subscription_t, u) +
                  offsetof(__wasi_subscription_u_t, u) +
                  offsetof(__wasi_subscription_clock_t, timeout));
static_assert(abi::kSubscriptionClockPrecision ==
              offsetof(__wasi_subscription_t, u) +
                  offsetof(__wasi_subscription_u_t, u) +
                  offsetof(__wasi_subscription_clock_t, precision));
static_assert(abi::kSubscriptionClockFlags ==
              offsetof(__wasi_subscription_t, u) +
                  offsetof(__wasi_subscription_u_t, u) +
                  offsetof(__wasi_subscription_clock_t, flags));
static_assert(abi::kSubscriptionFd ==
              offsetof(__wasi_subscription_t, u) +
                  offsetof(__wasi_subscription_u_t, u) +
                  offsetof(__wasi_subscription_fd_readwrite_t,
                           file_descriptor));

static_assert(abi::kEventSize == sizeof(__wasi_event_t));
static_assert(abi::kEventUserdata == offsetof(__wasi_event_t, userdata));
static_assert(abi::kEventError == offsetof(__wasi_event_t, error));
static_assert(abi::kEventType == offsetof(__wasi_event_t, type));
static_assert(abi::kEventFdNbytes ==
              offsetof(__wasi_event_t, fd_readwrite) +
                  offsetof(__wasi_event_fd_readwrite_t, nbytes));
static_assert(abi::kEventFdFlags ==
              offsetof(__wasi_event_t, fd_readwrite) +
                  offsetof(__wasi_event_fd_readwrite_t, flags));
