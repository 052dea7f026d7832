/* A guest module for tests/engine: ordinary C compiled to wasm32 without a
 * libc (no imports), translated by wasm2c both split into parts and as one
 * translation unit; the two must compute the same results. Exercises
 * recursion, loops over linear memory, 64-bit and floating-point arithmetic,
 * indirect calls and bulk memory operations. */
#include <stddef.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

static uint8_t g_sieve[1 << 16];
static uint32_t g_words[4096];

EXPORT uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

EXPORT uint32_t count_primes(uint32_t limit) {
  if (limit > sizeof g_sieve) limit = sizeof g_sieve;
  __builtin_memset(g_sieve, 1, limit);
  uint32_t count = 0;
  for (uint32_t i = 2; i < limit; ++i) {
    if (!g_sieve[i]) continue;
    ++count;
    for (uint32_t j = i * 2; j < limit; j += i) g_sieve[j] = 0;
  }
  return count;
}

EXPORT uint64_t mix64(uint64_t seed, uint32_t rounds) {
  uint64_t x = seed;
  for (uint32_t i = 0; i < rounds; ++i) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 29;
    x = (x << 7) | (x >> 57);
    x += (uint64_t)(int64_t)(int32_t)(x / 3 + i);
  }
  return x;
}

EXPORT double float_series(uint32_t terms) {
  double sum = 0.0;
  for (uint32_t k = 1; k <= terms; ++k) {
    double t = 1.0 / ((double)k * (double)k);
    sum += (k & 1) ? t : -t * 0.5;
    sum = __builtin_sqrt(sum * sum + 1e-12);
  }
  return sum;
}

typedef uint32_t (*step_fn)(uint32_t);
static uint32_t step_a(uint32_t x) { return x * 2654435761u; }
static uint32_t step_b(uint32_t x) { return (x >> 3) ^ (x << 11); }
static uint32_t step_c(uint32_t x) { return x + 0x9e3779b9u; }
static volatile step_fn g_steps[3] = {step_a, step_b, step_c};

EXPORT uint32_t indirect_chain(uint32_t x, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) x = g_steps[(x ^ i) % 3](x);
  return x;
}

static void insertion_sort(uint32_t* a, uint32_t n, int (*less)(uint32_t, uint32_t)) {
  for (uint32_t i = 1; i < n; ++i) {
    uint32_t v = a[i];
    uint32_t j = i;
    while (j > 0 && less(v, a[j - 1])) {
      a[j] = a[j - 1];
      --j;
    }
    a[j] = v;
  }
}
static int less_u32(uint32_t a, uint32_t b) { return a < b; }
static int greater_low_bits(uint32_t a, uint32_t b) { return (a & 0xffff) > (b & 0xffff); }

/* Fills, copies, sorts and hashes a buffer in linear memory. */
EXPORT uint32_t sort_hash(uint32_t seed, uint32_t n, uint32_t descending) {
  if (n > 2048) n = 2048;
  for (uint32_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    g_words[i] = seed;
  }
  __builtin_memcpy(&g_words[2048], g_words, n * sizeof(uint32_t));
  insertion_sort(&g_words[2048], n, descending ? greater_low_bits : less_u32);
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; ++i) h = (h ^ g_words[2048 + i]) * 16777619u;
  __builtin_memset(g_words, 0, sizeof g_words);
  return h;
}

EXPORT int32_t signed_div(int32_t a, int32_t b) { return a / b; }

/* Address of a static buffer, so tests can look at linear memory. */
EXPORT uint32_t words_address(void) { return (uint32_t)(uintptr_t)g_words; }
