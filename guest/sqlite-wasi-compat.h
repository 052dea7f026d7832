/* sqlite-wasi-compat.h: force-included when SQLite's amalgamation is compiled
 * for wasm32-wasi (see build-guest.sh).
 *
 * WASI preview1 has no file ownership or permission bits and no advisory
 * locks. SQLite's unix VFS names them anyway, so give it harmless
 * definitions: a process that is not root never calls fchown; fchmod is a
 * no-op; the lock constants only need to exist, because the default VFS is
 * "unix-none", which never takes a lock (a sandboxed run has one process). */
#ifndef SNAKECAGE_SQLITE_WASI_COMPAT_H
#define SNAKECAGE_SQLITE_WASI_COMPAT_H
#include <sys/types.h>

static inline int snakecage_fchmod(int fd, mode_t mode) { (void)fd; (void)mode; return 0; }
static inline int snakecage_fchown(int fd, uid_t u, gid_t g) { (void)fd; (void)u; (void)g; return 0; }
static inline uid_t snakecage_geteuid(void) { return 1000; }
#define fchmod snakecage_fchmod
#define fchown snakecage_fchown
#define geteuid snakecage_geteuid

#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2
#endif
