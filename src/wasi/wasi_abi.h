// wasi/wasi_abi.h: the WASI preview1 ABI as the host sees it.
//
// Constants and struct layouts (sizes and field offsets in guest memory) of
// wasi_snapshot_preview1, transcribed from wasi-libc's
// /usr/include/wasm32-wasi/wasi/api.h. That header cannot be included on the
// host (it asserts a 32-bit data layout), so the values live here, and
// tests/wasi/abi/abi_check.cc compiles this header for wasm32-wasi next to
// api.h and static_asserts that every value below equals api.h's. A typo here
// fails the build.
//
// This header includes only C headers so that it compiles for wasm32-wasi
// without a C++ standard library.
//
// Thread-safety: constants only.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace snakecage::wasi::abi {

// ---- errno (u16) ----------------------------------------------------------
#define SNAKECAGE_WASI_ERRNOS(X) \
  X(kSuccess, 0, SUCCESS)        \
  X(k2big, 1, 2BIG)              \
  X(kAcces, 2, ACCES)            \
  X(kAddrinuse, 3, ADDRINUSE)    \
  X(kAddrnotavail, 4, ADDRNOTAVAIL) \
  X(kAfnosupport, 5, AFNOSUPPORT) \
  X(kAgain, 6, AGAIN)            \
  X(kAlready, 7, ALREADY)        \
  X(kBadf, 8, BADF)              \
  X(kBadmsg, 9, BADMSG)          \
  X(kBusy, 10, BUSY)             \
  X(kCanceled, 11, CANCELED)     \
  X(kChild, 12, CHILD)           \
  X(kConnaborted, 13, CONNABORTED) \
  X(kConnrefused, 14, CONNREFUSED) \
  X(kConnreset, 15, CONNRESET)   \
  X(kDeadlk, 16, DEADLK)         \
  X(kDestaddrreq, 17, DESTADDRREQ) \
  X(kDom, 18, DOM)               \
  X(kDquot, 19, DQUOT)           \
  X(kExist, 20, EXIST)           \
  X(kFault, 21, FAULT)           \
  X(kFbig, 22, FBIG)             \
  X(kHostunreach, 23, HOSTUNREACH) \
  X(kIdrm, 24, IDRM)             \
  X(kIlseq, 25, ILSEQ)           \
  X(kInprogress, 26, INPROGRESS) \
  X(kIntr, 27, INTR)             \
  X(kInval, 28, INVAL)           \
  X(kIo, 29, IO)                 \
  X(kIsconn, 30, ISCONN)         \
  X(kIsdir, 31, ISDIR)           \
  X(kLoop, 32, LOOP)             \
  X(kMfile, 33, MFILE)           \
  X(kMlink, 34, MLINK)           \
  X(kMsgsize, 35, MSGSIZE)       \
  X(kMultihop, 36, MULTIHOP)     \
  X(kNametoolong, 37, NAMETOOLONG) \
  X(kNetdown, 38, NETDOWN)       \
  X(kNetreset, 39, NETRESET)     \
  X(kNetunreach, 40, NETUNREACH) \
  X(kNfile, 41, NFILE)           \
  X(kNobufs, 42, NOBUFS)         \
  X(kNodev, 43, NODEV)           \
  X(kNoent, 44, NOENT)           \
  X(kNoexec, 45, NOEXEC)         \
  X(kNolck, 46, NOLCK)           \
  X(kNolink, 47, NOLINK)         \
  X(kNomem, 48, NOMEM)           \
  X(kNomsg, 49, NOMSG)           \
  X(kNoprotoopt, 50, NOPROTOOPT) \
  X(kNospc, 51, NOSPC)           \
  X(kNosys, 52, NOSYS)           \
  X(kNotconn, 53, NOTCONN)       \
  X(kNotdir, 54, NOTDIR)         \
  X(kNotempty, 55, NOTEMPTY)     \
  X(kNotrecoverable, 56, NOTRECOVERABLE) \
  X(kNotsock, 57, NOTSOCK)       \
  X(kNotsup, 58, NOTSUP)         \
  X(kNotty, 59, NOTTY)           \
  X(kNxio, 60, NXIO)             \
  X(kOverflow, 61, OVERFLOW)     \
  X(kOwnerdead, 62, OWNERDEAD)   \
  X(kPerm, 63, PERM)             \
  X(kPipe, 64, PIPE)             \
  X(kProto, 65, PROTO)           \
  X(kProtonosupport, 66, PROTONOSUPPORT) \
  X(kPrototype, 67, PROTOTYPE)   \
  X(kRange, 68, RANGE)           \
  X(kRofs, 69, ROFS)             \
  X(kSpipe, 70, SPIPE)           \
  X(kSrch, 71, SRCH)             \
  X(kStale, 72, STALE)           \
  X(kTimedout, 73, TIMEDOUT)     \
  X(kTxtbsy, 74, TXTBSY)         \
  X(kXdev, 75, XDEV)             \
  X(kNotcapable, 76, NOTCAPABLE)

// A WASI errno value. Plain integer constants (not an enum class) because
// they cross the C ABI as u32 and are compared with api.h's macros.
using Errno = uint16_t;
#define SNAKECAGE_X(name, value, api) inline constexpr Errno name = value;
SNAKECAGE_WASI_ERRNOS(SNAKECAGE_X)
#undef SNAKECAGE_X

// ---- rights (u64) ---------------------------------------------------------
using Rights = uint64_t;
inline constexpr Rights kRightFdDatasync = 1ull << 0;
inline constexpr Rights kRightFdRead = 1ull << 1;
inline constexpr Rights kRightFdSeek = 1ull << 2;
inline constexpr Rights kRightFdFdstatSetFlags = 1ull << 3;
inline constexpr Rights kRightFdSync = 1ull << 4;
inline constexpr Rights kRightFdTell = 1ull << 5;
inline constexpr Rights kRightFdWrite = 1ull << 6;
inline constexpr Rights kRightFdAdvise = 1ull << 7;
inline constexpr Rights kRightFdAllocate = 1ull << 8;
inline constexpr Rights kRightPathCreateDirectory = 1ull << 9;
inline constexpr Rights kRightPathCreateFile = 1ull << 10;
inline constexpr Rights kRightPathLinkSource = 1ull << 11;
inline constexpr Rights kRightPathLinkTarget = 1ull << 12;
inline constexpr Rights kRightPathOpen = 1ull << 13;
inline constexpr Rights kRightFdReaddir = 1ull << 14;
inline constexpr Rights kRightPathReadlink = 1ull << 15;
inline constexpr Rights kRightPathRenameSource = 1ull << 16;
inline constexpr Rights kRightPathRenameTarget = 1ull << 17;
inline constexpr Rights kRightPathFilestatGet = 1ull << 18;
inline constexpr Rights kRightPathFilestatSetSize = 1ull << 19;
inline constexpr Rights kRightPathFilestatSetTimes = 1ull << 20;
inline constexpr Rights kRightFdFilestatGet = 1ull << 21;
inline constexpr Rights kRightFdFilestatSetSize = 1ull << 22;
inline constexpr Rights kRightFdFilestatSetTimes = 1ull << 23;
inline constexpr Rights kRightPathSymlink = 1ull << 24;
inline constexpr Rights kRightPathRemoveDirectory = 1ull << 25;
inline constexpr Rights kRightPathUnlinkFile = 1ull << 26;
inline constexpr Rights kRightPollFdReadwrite = 1ull << 27;
inline constexpr Rights kRightSockShutdown = 1ull << 28;
inline constexpr Rights kRightSockAccept = 1ull << 29;
// Every right preview1 defines.
inline constexpr Rights kAllRights = (1ull << 30) - 1;

// ---- clocks ---------------------------------------------------------------
inline constexpr uint32_t kClockRealtime = 0;
inline constexpr uint32_t kClockMonotonic = 1;
inline constexpr uint32_t kClockProcessCputime = 2;
inline constexpr uint32_t kClockThreadCputime = 3;

// ---- whence (u8) ----------------------------------------------------------
inline constexpr uint8_t kWhenceSet = 0;
inline constexpr uint8_t kWhenceCur = 1;
inline constexpr uint8_t kWhenceEnd = 2;

// ---- filetype (u8) --------------------------------------------------------
inline constexpr uint8_t kFiletypeUnknown = 0;
inline constexpr uint8_t kFiletypeBlockDevice = 1;
inline constexpr uint8_t kFiletypeCharacterDevice = 2;
inline constexpr uint8_t kFiletypeDirectory = 3;
inline constexpr uint8_t kFiletypeRegularFile = 4;
inline constexpr uint8_t kFiletypeSocketDgram = 5;
inline constexpr uint8_t kFiletypeSocketStream = 6;
inline constexpr uint8_t kFiletypeSymbolicLink = 7;

// ---- advice (u8) ----------------------------------------------------------
inline constexpr uint8_t kAdviceNormal = 0;
inline constexpr uint8_t kAdviceSequential = 1;
inline constexpr uint8_t kAdviceRandom = 2;
inline constexpr uint8_t kAdviceWillneed = 3;
inline constexpr uint8_t kAdviceDontneed = 4;
inline constexpr uint8_t kAdviceNoreuse = 5;

// ---- fdflags (u16) --------------------------------------------------------
inline constexpr uint16_t kFdflagAppend = 1 << 0;
inline constexpr uint16_t kFdflagDsync = 1 << 1;
inline constexpr uint16_t kFdflagNonblock = 1 << 2;
inline constexpr uint16_t kFdflagRsync = 1 << 3;
inline constexpr uint16_t kFdflagSync = 1 << 4;

// ---- fstflags (u16) -------------------------------------------------------
inline constexpr uint16_t kFstflagAtim = 1 << 0;
inline constexpr uint16_t kFstflagAtimNow = 1 << 1;
inline constexpr uint16_t kFstflagMtim = 1 << 2;
inline constexpr uint16_t kFstflagMtimNow = 1 << 3;

// ---- lookupflags (u32) ----------------------------------------------------
inline constexpr uint32_t kLookupSymlinkFollow = 1 << 0;

// ---- oflags (u16) ---------------------------------------------------------
inline constexpr uint16_t kOflagCreat = 1 << 0;
inline constexpr uint16_t kOflagDirectory = 1 << 1;
inline constexpr uint16_t kOflagExcl = 1 << 2;
inline constexpr uint16_t kOflagTrunc = 1 << 3;

// ---- poll -----------------------------------------------------------------
inline constexpr uint8_t kEventtypeClock = 0;
inline constexpr uint8_t kEventtypeFdRead = 1;
inline constexpr uint8_t kEventtypeFdWrite = 2;
inline constexpr uint16_t kEventrwflagHangup = 1 << 0;
inline constexpr uint16_t kSubclockflagAbstime = 1 << 0;

// ---- misc -----------------------------------------------------------------
inline constexpr uint8_t kPreopentypeDir = 0;
inline constexpr uint64_t kDircookieStart = 0;

// ---- struct layouts in guest memory (little-endian, byte offsets) ---------
// __wasi_iovec_t / __wasi_ciovec_t
inline constexpr uint32_t kIovecSize = 8;
inline constexpr uint32_t kIovecBuf = 0;
inline constexpr uint32_t kIovecBufLen = 4;
// __wasi_dirent_t (followed by d_namlen name bytes)
inline constexpr uint32_t kDirentSize = 24;
inline constexpr uint32_t kDirentNext = 0;
inline constexpr uint32_t kDirentIno = 8;
inline constexpr uint32_t kDirentNamlen = 16;
inline constexpr uint32_t kDirentType = 20;
// __wasi_fdstat_t
inline constexpr uint32_t kFdstatSize = 24;
inline constexpr uint32_t kFdstatFiletype = 0;
inline constexpr uint32_t kFdstatFlags = 2;
inline constexpr uint32_t kFdstatRightsBase = 8;
inline constexpr uint32_t kFdstatRightsInheriting = 16;
// __wasi_filestat_t
inline constexpr uint32_t kFilestatSize = 64;
inline constexpr uint32_t kFilestatDev = 0;
inline constexpr uint32_t kFilestatIno = 8;
inline constexpr uint32_t kFilestatFiletype = 16;
inline constexpr uint32_t kFilestatNlink = 24;
inline constexpr uint32_t kFilestatSizeField = 32;
inline constexpr uint32_t kFilestatAtim = 40;
inline constexpr uint32_t kFilestatMtim = 48;
inline constexpr uint32_t kFilestatCtim = 56;
// __wasi_prestat_t
inline constexpr uint32_t kPrestatSize = 8;
inline constexpr uint32_t kPrestatTag = 0;
inline constexpr uint32_t kPrestatDirNameLen = 4;
// __wasi_subscription_t
inline constexpr uint32_t kSubscriptionSize = 48;
inline constexpr uint32_t kSubscriptionUserdata = 0;
inline constexpr uint32_t kSubscriptionTag = 8;
inline constexpr uint32_t kSubscriptionClockId = 16;
inline constexpr uint32_t kSubscriptionClockTimeout = 24;
inline constexpr uint32_t kSubscriptionClockPrecision = 32;
inline constexpr uint32_t kSubscriptionClockFlags = 40;
inline constexpr uint32_t kSubscriptionFd = 16;
// __wasi_event_t
inline constexpr uint32_t kEventSize = 32;
inline constexpr uint32_t kEventUserdata = 0;
inline constexpr uint32_t kEventError = 8;
inline constexpr uint32_t kEventType = 10;
inline constexpr uint32_t kEventFdNbytes = 16;
inline constexpr uint32_t kEventFdFlags = 24;

}  // namespace snakecage::wasi::abi
