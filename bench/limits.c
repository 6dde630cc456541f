/*
 * The limits the benchmark measures each optimizer against, in the same run:
 *
 *   copy          b[i] = a[i]                   (counted: 2 elements moved)
 *   triad         a[i] = b[i] + s * c[i]        (counted: 3)
 *   streams-R-W   an optimizer's memory pattern, with only trivial arithmetic:
 *                 read R arrays (p, g, then R - 2 state arrays), write W of them
 *                 in place (p, then the first W - 1 state arrays; g never)
 *                                               (counted: R + W). RMSprop plain is
 *                 streams-3-2 (20 B per float32), momentum+centered streams-5-4,
 *                 SGD with momentum streams-3-2, Adam streams-4-3.
 * The streaming kernels are compiled for the best ISA the CPU has (GCC
 * target_clones: AVX-512, AVX2 or baseline); the ISA argument of `run`
 * selects only the sqrtdiv variant.
 *
 *   read          s += g[i] * g[i]              (counted: 1) the read bandwidth, which
 *                 a gradient norm is bounded by (bench/kit.ts)
 *
 *   sqrtdiv-R     p[i] = g[i] / sqrt(v[i])      the in-cache bound: only the square
 *                 root and the divide of a step, over the same values simd-optim steps
 *                 (see fill) and the same streams (R = 3: p, g, v; up to 5: also the
 *                 other state arrays; every array but g stored, i.e. W = R - 1),
 *                 with the intrinsics of one ISA
 *
 * Standalone C, compiled at bench time by bench/limits.ts with `cc -O3 -fopenmp`
 * into build/bench/. It speaks a line protocol on stdin/stdout so the Node
 * driver can interleave it round by round with the other peers:
 *
 *   info                                  -> "ok isas=scalar,avx2,avx512 threads=N"
 *   alloc <n> <f32|f64>                   -> "ok" (5 arrays of n elements, see alloc_array)
 *   run <kernel> <isa> <threads> <steps>  -> "ok <seconds for all steps>"
 *   quit
 *
 * Every step is one OpenMP parallel region (threads take contiguous 64-byte
 * aligned chunks), as one native optimizer step is one thread-pool run.
 *
 * Arrays are 64-byte aligned; from 2 MiB they are 2 MiB aligned and advised
 * as transparent huge pages before the first touch (Linux, THP "madvise" or
 * "always"). The limit must be what the hardware does with its best page
 * size: streaming through 4 KiB pages costs TLB misses (dearer in a VM), and
 * simd-optim's own arrays (its state, and parameters from `zeros`) are on
 * huge pages from 2 MiB too.
 */
#define _GNU_SOURCE
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

static size_t n_elems = 0;
static int is_f64 = 0;
static void *arr[5];
static void *base[5]; /* what alloc_array allocated, for free() */

#define HUGE_PAGE ((size_t)2 << 20)

/* Array k of `bytes` bytes, 64-byte aligned; from 2 MiB, 2 MiB aligned with
   its size rounded up to whole 2 MiB pages (as aligned_alloc wants) and
   advised as huge pages, before fill() touches it: the first touch picks the
   page size. The advice is only a hint; refused, the pages stay 4 KiB.
   From 16 KiB, arrays 2-4 (v, buf, gavg) start 1-3 quarters of a 4 KiB page
   after arrays 0 and 1 (p, g), as simd-optim places its state, so that no
   load waits on a store to another array at the same page offset (4K
   aliasing) and the limit is not held below what the hardware does. */
static void *alloc_array(int k, size_t bytes) {
  size_t offset = bytes >= ((size_t)16 << 10) && k >= 2 ? (size_t)(k - 1) * 1024 : 0;
  size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : offset ? 4096 : 64;
  size_t size = (offset + (bytes ? bytes : 64) + align - 1) / align * align;
  base[k] = aligned_alloc(align, size);
  if (!base[k]) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == HUGE_PAGE) (void)madvise(base[k], size, MADV_HUGEPAGE);
#endif
  return (char *)base[k] + offset;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The chunk [lo, hi) of thread t of T, boundaries on 64-byte lines. */
static void chunk(size_t n, size_t esize, int t, int T, size_t *lo, size_t *hi) {
  size_t line = 64 / esize;
  size_t lines = (n + line - 1) / line;
  size_t a = lines * (size_t)t / (size_t)T, b = lines * (size_t)(t + 1) / (size_t)T;
  *lo = a * line < n ? a * line : n;
  *hi = b * line < n ? b * line : n;
}

/* ---- streaming kernels, auto-vectorised for the best ISA (see ISA_ATTR) ---- */
#if defined(__x86_64__)
#define ISA_ATTR __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ISA_ATTR
#endif
#define COPY_TRIAD(T, SUF)                                                                 \
  ISA_ATTR static void copy_##SUF(T *restrict a, T *restrict b, size_t lo, size_t hi) {    \
    for (size_t i = lo; i < hi; i++) b[i] = a[i];                                          \
  }                                                                                        \
  ISA_ATTR static void triad_##SUF(T *restrict a, const T *restrict b, const T *restrict c, \
                                   size_t lo, size_t hi) {                                 \
    const T s = (T)0.5;                                                                    \
    for (size_t i = lo; i < hi; i++) a[i] = b[i] + s * c[i];                               \
  }
COPY_TRIAD(float, f32)
COPY_TRIAD(double, f64)

/* read: one array in, a sum out (kept in a volatile sink so that the loads
   stay); `omp simd` lets the compiler vectorise the sum. */
static volatile double read_sink;
#define READ(T, SUF)                                                                       \
  ISA_ATTR static void read_##SUF(const T *restrict g, size_t lo, size_t hi) {            \
    T s = 0;                                                                               \
    _Pragma("omp simd reduction(+ : s)") for (size_t i = lo; i < hi; i++) s += g[i] * g[i]; \
    read_sink = s;                                                                         \
  }
READ(float, f32)
READ(double, f64)

/* streams-R-W: state array k (2 <= k < R) becomes x[k] * s + g, stored if k <= W
   (written), else added into what p subtracts (read only, so that its load
   stays). R and W are constants: the compiler drops the branches. */
#define STREAMS_RW(T, SUF, R, W)                                                           \
  ISA_ATTR static void streams_##R##_##W##_##SUF(T *restrict p, const T *restrict g,      \
                                                 T *restrict v, T *restrict m,             \
                                                 T *restrict a, size_t lo, size_t hi) {    \
    const T s = (T)0.5, r = (T)1e-3;                                                       \
    for (size_t i = lo; i < hi; i++) {                                                     \
      T gi = g[i], d = gi;                                                                 \
      if (R > 2) {                                                                         \
        T y = v[i] * s + gi;                                                               \
        if (W > 1) v[i] = y; else d += y;                                                  \
      }                                                                                    \
      if (R > 3) {                                                                         \
        T y = m[i] * s + gi;                                                               \
        if (W > 2) m[i] = y; else d += y;                                                  \
      }                                                                                    \
      if (R > 4) {                                                                         \
        T y = a[i] * s + gi;                                                               \
        if (W > 3) a[i] = y; else d += y;                                                  \
      }                                                                                    \
      p[i] = p[i] - r * d;                                                                 \
    }                                                                                      \
  }
#define STREAMS_ALL(T, SUF)                                                                \
  STREAMS_RW(T, SUF, 2, 1)                                                                 \
  STREAMS_RW(T, SUF, 3, 1) STREAMS_RW(T, SUF, 3, 2)                                        \
  STREAMS_RW(T, SUF, 4, 1) STREAMS_RW(T, SUF, 4, 2) STREAMS_RW(T, SUF, 4, 3)               \
  STREAMS_RW(T, SUF, 5, 1) STREAMS_RW(T, SUF, 5, 2) STREAMS_RW(T, SUF, 5, 3)               \
  STREAMS_RW(T, SUF, 5, 4)
STREAMS_ALL(float, f32)
STREAMS_ALL(double, f64)

/* streams-R-W by R and W (unused entries NULL). */
typedef void (*streams_f32_fn)(float *, const float *, float *, float *, float *, size_t, size_t);
typedef void (*streams_f64_fn)(double *, const double *, double *, double *, double *, size_t, size_t);
#define STREAMS_TABLE(SUF)                                                                 \
  {                                                                                        \
    [2][1] = streams_2_1_##SUF, [3][1] = streams_3_1_##SUF, [3][2] = streams_3_2_##SUF,    \
    [4][1] = streams_4_1_##SUF, [4][2] = streams_4_2_##SUF, [4][3] = streams_4_3_##SUF,    \
    [5][1] = streams_5_1_##SUF, [5][2] = streams_5_2_##SUF, [5][3] = streams_5_3_##SUF,    \
    [5][4] = streams_5_4_##SUF                                                             \
  }
static const streams_f32_fn streams_f32[6][5] = STREAMS_TABLE(f32);
static const streams_f64_fn streams_f64[6][5] = STREAMS_TABLE(f64);

/* ---- the in-cache bound: only the square root and the divide ---- */
/* p[i] = g[i] / sqrt(v[i]) over the step's own streams: it loads every array
   the step loads (p, g, v; then arrays 3 and 4 where R is 4 or 5, e.g. Adam's
   exp_avg_sq or RMSprop's buf and gavg) and stores every array the step
   stores (all but g), so that it moves the
   same data through the same caches, and does no arithmetic but the square
   root and the divide. KEEP makes the compiler treat a value as read and
   changed, so that the load feeding it and the store of it both happen. */
#if defined(__x86_64__)
#define KEEP(x) __asm__ volatile("" : "+x"(x))
#elif defined(__aarch64__)
#define KEEP(x) __asm__ volatile("" : "+w"(x))
#else
#define KEEP(x) __asm__ volatile("" : "+g"(x))
#endif
#define SQRTDIV(NAME, ATTR, T, V, W, LOAD, STORE, SQRT, DIV, SQRT1, R)                            \
  ATTR static void NAME(T *restrict p, const T *restrict g, T *restrict v, T *restrict m,          \
                        T *restrict a, size_t lo, size_t hi) {                                      \
    size_t i = lo;                                                                                  \
    for (; i + W <= hi; i += W) {                                                                   \
      V pi = LOAD(p + i), vi = LOAD(v + i);                                                         \
      KEEP(pi);                                                                                     \
      KEEP(vi);                                                                                     \
      STORE(p + i, DIV(LOAD(g + i), SQRT(vi)));                                                     \
      STORE(v + i, vi);                                                                             \
      if (R > 3) {                                                                                  \
        V mi = LOAD(m + i);                                                                         \
        KEEP(mi);                                                                                   \
        STORE(m + i, mi);                                                                           \
      }                                                                                             \
      if (R > 4) {                                                                                  \
        V ai = LOAD(a + i);                                                                         \
        KEEP(ai);                                                                                   \
        STORE(a + i, ai);                                                                           \
      }                                                                                             \
    }                                                                                               \
    for (; i < hi; i++) p[i] = g[i] / SQRT1(v[i]);                                                  \
  }
#define S_LOAD(x) (*(x))
#define S_STORE(x, y) (*(x) = (y))
#define S_DIV(a, b) ((a) / (b))
#define SCALAR_ATTR __attribute__((optimize("no-tree-vectorize")))
#define SQRTDIV_SCALAR(R)                                                                          \
  SQRTDIV(sqrtdiv##R##_scalar_f32, SCALAR_ATTR, float, float, 1, S_LOAD, S_STORE, sqrtf, S_DIV, sqrtf, R) \
  SQRTDIV(sqrtdiv##R##_scalar_f64, SCALAR_ATTR, double, double, 1, S_LOAD, S_STORE, sqrt, S_DIV, sqrt, R)
SQRTDIV_SCALAR(3)
SQRTDIV_SCALAR(4)
SQRTDIV_SCALAR(5)
#if defined(__x86_64__)
#define AVX2_ATTR __attribute__((target("avx2,fma")))
#define AVX512_ATTR __attribute__((target("avx512f")))
#define SQRTDIV_X86(R)                                                                             \
  SQRTDIV(sqrtdiv##R##_avx2_f32, AVX2_ATTR, float, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps,   \
          _mm256_sqrt_ps, _mm256_div_ps, sqrtf, R)                                                  \
  SQRTDIV(sqrtdiv##R##_avx2_f64, AVX2_ATTR, double, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd, \
          _mm256_sqrt_pd, _mm256_div_pd, sqrt, R)                                                   \
  SQRTDIV(sqrtdiv##R##_avx512_f32, AVX512_ATTR, float, __m512, 16, _mm512_loadu_ps,                \
          _mm512_storeu_ps, _mm512_sqrt_ps, _mm512_div_ps, sqrtf, R)                                \
  SQRTDIV(sqrtdiv##R##_avx512_f64, AVX512_ATTR, double, __m512d, 8, _mm512_loadu_pd,               \
          _mm512_storeu_pd, _mm512_sqrt_pd, _mm512_div_pd, sqrt, R)
SQRTDIV_X86(3)
SQRTDIV_X86(4)
SQRTDIV_X86(5)
#define SQRTDIV_ROW(R, SUF) {sqrtdiv##R##_scalar_##SUF, sqrtdiv##R##_avx2_##SUF, sqrtdiv##R##_avx512_##SUF}
#else
/* No SIMD loops here: run() refuses avx2 and avx512 (cpu_has). */
#define SQRTDIV_ROW(R, SUF) {sqrtdiv##R##_scalar_##SUF, NULL, NULL}
#endif

/* The sqrt+div loop of a dtype by R - 3 and ISA. */
typedef void (*sqrtdiv_f32_fn)(float *, const float *, float *, float *, float *, size_t, size_t);
typedef void (*sqrtdiv_f64_fn)(double *, const double *, double *, double *, double *, size_t, size_t);
static const sqrtdiv_f32_fn sqrtdiv_f32[3][3] = {SQRTDIV_ROW(3, f32), SQRTDIV_ROW(4, f32), SQRTDIV_ROW(5, f32)};
static const sqrtdiv_f64_fn sqrtdiv_f64[3][3] = {SQRTDIV_ROW(3, f64), SQRTDIV_ROW(4, f64), SQRTDIV_ROW(5, f64)};

static int cpu_has(const char *isa) {
  if (!strcmp(isa, "scalar")) return 1;
#if !defined(__x86_64__)
  return 0;
#else
  __builtin_cpu_init();
  if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!strcmp(isa, "avx512")) return __builtin_cpu_supports("avx512f");
  return 0;
#endif
}

/* The values bench/peers-native.ts gives simd-optim (fillValues, tensor 0):
   p in [-1, 1) from seed 1, g with |g| in [1e-3, 1e-2] and alternating signs
   from seed 2, and v = g * g, a square_avg of that gradient. The other two
   arrays (momentum buffer, grad_avg) are zero, as on a first step. */
static void fill_lcg(size_t k, int seed, int grad) {
  uint32_t s = (uint32_t)seed * 2654435761u;
  if (!s) s = 1;
  for (size_t i = 0; i < n_elems; i++) {
    s = s * 1664525u + 1013904223u;
    double u = s / 4294967296.0;
    double val = grad ? ((i & 1) ? -1.0 : 1.0) * (1e-3 + u * 9e-3) : u * 2 - 1;
    if (is_f64) ((double *)arr[k])[i] = val;
    else ((float *)arr[k])[i] = (float)val;
  }
}

static void fill(void) {
  fill_lcg(0, 1, 0);
  fill_lcg(1, 2, 1);
  for (size_t i = 0; i < n_elems; i++) {
    if (is_f64) {
      double g = ((double *)arr[1])[i];
      ((double *)arr[2])[i] = g * g;
      ((double *)arr[3])[i] = ((double *)arr[4])[i] = 0;
    } else {
      float g = ((float *)arr[1])[i];
      ((float *)arr[2])[i] = g * g;
      ((float *)arr[3])[i] = ((float *)arr[4])[i] = 0;
    }
  }
}

static int run(const char *kernel, const char *isa, int threads, long steps, double *seconds) {
  int k, r = 0, w = 0;
  if (!strcmp(kernel, "copy")) k = 0;
  else if (!strcmp(kernel, "triad")) k = 1;
  else if (!strcmp(kernel, "read")) k = 4;
  else if (sscanf(kernel, "streams-%d-%d", &r, &w) == 2) k = 2;
  else if (sscanf(kernel, "sqrtdiv-%d", &r) == 1) k = 3;
  else return 0;
  int isa_id = !strcmp(isa, "scalar") ? 0 : !strcmp(isa, "avx2") ? 1 : !strcmp(isa, "avx512") ? 2 : -1;
  if (isa_id < 0 || !cpu_has(isa)) return 0;
  if (k == 2 && !(r >= 2 && r <= 5 && w >= 1 && w < r)) return 0;
  if (k == 3 && !(r >= 3 && r <= 5)) return 0;
  size_t es = is_f64 ? 8 : 4;
  double t0 = now();
  for (long s = 0; s < steps; s++) {
#pragma omp parallel num_threads(threads)
    {
      size_t lo, hi;
      chunk(n_elems, es, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
      if (is_f64) {
        double *a = arr[0], *b = arr[1], *c = arr[2], *d = arr[3], *e = arr[4];
        switch (k) {
          case 0: copy_f64(a, b, lo, hi); break;
          case 1: triad_f64(a, b, c, lo, hi); break;
          case 2: streams_f64[r][w](a, b, c, d, e, lo, hi); break;
          case 4: read_f64(b, lo, hi); break;
          default: sqrtdiv_f64[r - 3][isa_id](a, b, c, d, e, lo, hi);
        }
      } else {
        float *a = arr[0], *b = arr[1], *c = arr[2], *d = arr[3], *e = arr[4];
        switch (k) {
          case 0: copy_f32(a, b, lo, hi); break;
          case 1: triad_f32(a, b, c, lo, hi); break;
          case 2: streams_f32[r][w](a, b, c, d, e, lo, hi); break;
          case 4: read_f32(b, lo, hi); break;
          default: sqrtdiv_f32[r - 3][isa_id](a, b, c, d, e, lo, hi);
        }
      }
    }
    /* sqrtdiv* overwrite p with g/sqrt(v) and store the other arrays unchanged; later steps compute the same. The
       streaming kernels keep their values bounded (|s| < 1). */
  }
  *seconds = now() - t0;
  return 1;
}

int main(void) {
  char line[256];
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    char cmd[32] = "", a1[32] = "", a2[32] = "";
    long n1 = 0, n2 = 0;
    if (sscanf(line, "%31s", cmd) != 1) continue;
    if (!strcmp(cmd, "quit")) break;
    if (!strcmp(cmd, "info")) {
      printf("ok isas=scalar%s%s threads=%d\n", cpu_has("avx2") ? ",avx2" : "", cpu_has("avx512") ? ",avx512" : "",
             omp_get_num_procs());
    } else if (!strcmp(cmd, "alloc") && sscanf(line, "%*s %ld %31s", &n1, a1) == 2) {
      for (int k = 0; k < 5; k++) free(base[k]), base[k] = arr[k] = NULL;
      n_elems = (size_t)n1;
      is_f64 = !strcmp(a1, "f64");
      size_t bytes = n_elems * (is_f64 ? 8 : 4);
      int ok = 1;
      for (int k = 0; k < 5; k++) ok = ok && (arr[k] = alloc_array(k, bytes)) != NULL;
      if (ok) fill(), printf("ok\n");
      else printf("error out of memory\n");
    } else if (!strcmp(cmd, "run") && sscanf(line, "%*s %31s %31s %ld %ld", a1, a2, &n1, &n2) == 4) {
      double s;
      if (!arr[0]) printf("error alloc first\n");
      else if (run(a1, a2, (int)n1, n2, &s)) printf("ok %.9f\n", s);
      else printf("error cannot run %s on %s here\n", a1, a2);
    } else {
      printf("error bad command\n");
    }
  }
  return 0;
}
