// A wasi-libc program run by wasi_guest_test.cc through wasm2c and the real
// shims. It prints one line per check; the test compares stdout exactly.
//
// Host setup it expects: preopen /app (read-write, contains evil -> an
// absolute symlink to /etc/passwd), preopen /data (read-only, contains
// input.txt = "from the host\n"), argv = {"guest", "hello"}, env = {FOO=bar}.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int compare(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static const char* err_name(int e) {
  switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT";
    case EROFS: return "EROFS";
    case EXDEV: return "EXDEV";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case EISDIR: return "EISDIR";
    case EEXIST: return "EEXIST";
    default: return "other";
  }
}

static void list_dir(const char* path) {
  DIR* d = opendir(path);
  if (d == NULL) {
    printf("list %s: %s\n", path, err_name(errno));
    return;
  }
  char* names[64];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL && n < 64) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof(names[0]), compare);
  printf("list %s:", path);
  for (int i = 0; i < n; ++i) {
    printf(" %s", names[i]);
    free(names[i]);
  }
  printf("\n");
}

int main(int argc, char** argv) {
  printf("argc=%d argv0=%s argv1=%s\n", argc, argv[0], argc > 1 ? argv[1] : "");
  const char* foo = getenv("FOO");
  const char* home = getenv("HOME");
  printf("FOO=%s HOME=%s\n", foo ? foo : "(unset)", home ? home : "(unset)");

  // Workspace: write, read back.
  FILE* f = fopen("/app/out.txt", "w");
  fputs("written by guest\n", f);
  fclose(f);
  char buf[128] = {0};
  f = fopen("/app/out.txt", "r");
  fgets(buf, sizeof(buf), f);
  fclose(f);
  printf("app read: %s", buf);

  // Read-only mount: reading works, writing is refused with EROFS.
  memset(buf, 0, sizeof(buf));
  f = fopen("/data/input.txt", "r");
  fgets(buf, sizeof(buf), f);
  fclose(f);
  printf("data read: %s", buf);
  errno = 0;
  int fd = open("/data/new.txt", O_WRONLY | O_CREAT, 0644);
  printf("data create: %d %s\n", fd, err_name(errno));
  errno = 0;
  int r = unlink("/data/input.txt");
  printf("data unlink: %d %s\n", r, err_name(errno));
  errno = 0;
  fd = open("/data/input.txt", O_WRONLY | O_TRUNC);
  printf("data truncate: %d %s\n", fd, err_name(errno));

  // Escapes.
  errno = 0;
  fd = open("/app/../etc/passwd", O_RDONLY);
  printf("escape dotdot: %d %s\n", fd, err_name(errno));
  errno = 0;
  fd = open("/app/evil", O_RDONLY);
  printf("escape symlink: %d %s\n", fd, err_name(errno));

  // Directories, rename, stat, symlinks.
  r = mkdir("/app/sub", 0755);
  printf("mkdir: %d\n", r);
  r = rename("/app/out.txt", "/app/sub/moved.txt");
  printf("rename: %d\n", r);
  struct stat st;
  r = stat("/app/sub/moved.txt", &st);
  printf("stat: %d size=%lld regular=%d\n", r, (long long)st.st_size,
         S_ISREG(st.st_mode) ? 1 : 0);
  r = symlink("moved.txt", "/app/sub/link");
  char target[64] = {0};
  ssize_t len = readlink("/app/sub/link", target, sizeof(target) - 1);
  printf("symlink: %d readlink=%.*s\n", r, (int)len, target);
  memset(buf, 0, sizeof(buf));
  f = fopen("/app/sub/link", "r");
  fgets(buf, sizeof(buf), f);
  fclose(f);
  printf("via link: %s", buf);
  errno = 0;
  r = rename("/app/sub/moved.txt", "/data/moved.txt");
  printf("rename to data: %d %s\n", r, err_name(errno));
  list_dir("/app");
  list_dir("/app/sub");
  list_dir("/data");

  // Time: a 20 ms sleep really sleeps.
  struct timespec t0, t1, req = {0, 20 * 1000 * 1000};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  nanosleep(&req, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long slept_ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
                       (t1.tv_nsec - t0.tv_nsec);
  printf("slept at least 20ms: %s\n", slept_ns >= 20000000LL ? "yes" : "no");

  fprintf(stderr, "to stderr\n");
  return 3;
}
