#include "wasi/errno_map.h"

#include <cerrno>

namespace snakecage::wasi {

abi::Errno WasiErrnoFromHost(int host_errno) {
  // Linux aliases: EWOULDBLOCK == EAGAIN, EDEADLOCK == EDEADLK,
  // ENOTSUP == EOPNOTSUPP; each appears once below.
  switch (host_errno) {
    case 0: return abi::kSuccess;
    case E2BIG: return abi::k2big;
    case EACCES: return abi::kAcces;
    case EADDRINUSE: return abi::kAddrinuse;
    case EADDRNOTAVAIL: return abi::kAddrnotavail;
    case EAFNOSUPPORT: return abi::kAfnosupport;
    case EAGAIN: return abi::kAgain;
    case EALREADY: return abi::kAlready;
    case EBADF: return abi::kBadf;
    case EBADMSG: return abi::kBadmsg;
    case EBUSY: return abi::kBusy;
    case ECANCELED: return abi::kCanceled;
    case ECHILD: return abi::kChild;
    case ECONNABORTED: return abi::kConnaborted;
    case ECONNREFUSED: return abi::kConnrefused;
    case ECONNRESET: return abi::kConnreset;
    case EDEADLK: return abi::kDeadlk;
    case EDESTADDRREQ: return abi::kDestaddrreq;
    case EDOM: return abi::kDom;
    case EDQUOT: return abi::kDquot;
    case EEXIST: return abi::kExist;
    case EFAULT: return abi::kFault;
    case EFBIG: return abi::kFbig;
    case EHOSTUNREACH: return abi::kHostunreach;
    case EIDRM: return abi::kIdrm;
    case EILSEQ: return abi::kIlseq;
    case EINPROGRESS: return abi::kInprogress;
    case EINTR: return abi::kIntr;
    case EINVAL: return abi::kInval;
    case EIO: return abi::kIo;
    case EISCONN: return abi::kIsconn;
    case EISDIR: return abi::kIsdir;
    case ELOOP: return abi::kLoop;
    case EMFILE: return abi::kMfile;
    case EMLINK: return abi::kMlink;
    case EMSGSIZE: return abi::kMsgsize;
    case EMULTIHOP: return abi::kMultihop;
    case ENAMETOOLONG: return abi::kNametoolong;
    case ENETDOWN: return abi::kNetdown;
    case ENETRESET: return abi::kNetreset;
    case ENETUNREACH: return abi::kNetunreach;
    case ENFILE: return abi::kNfile;
    case ENOBUFS: return abi::kNobufs;
    case ENODEV: return abi::kNodev;
    case ENOENT: return abi::kNoent;
    case ENOEXEC: return abi::kNoexec;
    case ENOLCK: return abi::kNolck;
    case ENOLINK: return abi::kNolink;
    case ENOMEM: return abi::kNomem;
    case ENOMSG: return abi::kNomsg;
    case ENOPROTOOPT: return abi::kNoprotoopt;
    case ENOSPC: return abi::kNospc;
    case ENOSYS: return abi::kNosys;
    case ENOTCONN: return abi::kNotconn;
    case ENOTDIR: return abi::kNotdir;
    case ENOTEMPTY: return abi::kNotempty;
    case ENOTRECOVERABLE: return abi::kNotrecoverable;
    case ENOTSOCK: return abi::kNotsock;
    case EOPNOTSUPP: return abi::kNotsup;
    case ENOTTY: return abi::kNotty;
    case ENXIO: return abi::kNxio;
    case EOVERFLOW: return abi::kOverflow;
    case EOWNERDEAD: return abi::kOwnerdead;
    case EPERM: return abi::kPerm;
    case EPIPE: return abi::kPipe;
    case EPROTO: return abi::kProto;
    case EPROTONOSUPPORT: return abi::kProtonosupport;
    case EPROTOTYPE: return abi::kPrototype;
    case ERANGE: return abi::kRange;
    case EROFS: return abi::kRofs;
    case ESPIPE: return abi::kSpipe;
    case ESRCH: return abi::kSrch;
    case ESTALE: return abi::kStale;
    case ETIMEDOUT: return abi::kTimedout;
    case ETXTBSY: return abi::kTxtbsy;
    case EXDEV: return abi::kXdev;
    // Linux-only values with a close preview1 meaning.
    case ENOTBLK: return abi::kNotsup;
    case ENOMEDIUM: return abi::kNodev;
    case ENOKEY: return abi::kAcces;
    case EKEYEXPIRED: return abi::kAcces;
    case EKEYREVOKED: return abi::kAcces;
    case EKEYREJECTED: return abi::kAcces;
    case ENODATA: return abi::kNoent;  // e.g. a missing xattr
    case EREMOTEIO: return abi::kIo;
    case EUCLEAN: return abi::kIo;
    case ETIME: return abi::kTimedout;
    case ESHUTDOWN: return abi::kPipe;
    case EHOSTDOWN: return abi::kHostunreach;
    case ERESTART: return abi::kIntr;
    default: return abi::kIo;
  }
}

}  // namespace snakecage::wasi
