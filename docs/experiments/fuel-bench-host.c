#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "wasm-rt.h"
#include HDR
int main(int argc, char** argv) {
  unsigned reps = argc > 1 ? atoi(argv[1]) : 200;
  wasm_rt_init();
  Z_bench_init_module();
  Z_bench_instance_t inst;
  Z_bench_instantiate(&inst);
#ifdef FUEL
  *Z_benchZ_snakecage_fuel(&inst) = 1000000000000ll;
#endif
  struct timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  unsigned r = Z_benchZ_run(&inst, reps);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  double s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
#ifdef FUEL
  printf("r=%u %.3f s fuel consumed=%lld\n", r, s, 1000000000000ll - (long long)*Z_benchZ_snakecage_fuel(&inst));
#else
  printf("r=%u %.3f s\n", r, s);
#endif
  Z_bench_free(&inst);
  return 0;
}
