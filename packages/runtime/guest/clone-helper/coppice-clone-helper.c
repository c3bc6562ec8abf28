/*
 * coppice-clone-helper: what a sandbox restored from a shared checkpoint must be told by root before it is handed
 * out, applied without a process per request. Every clone of one checkpoint wakes with the checkpoint's clock and
 * CRNG state; the agent (envd, root) starts this helper once at boot, so it is already running in the checkpoint,
 * and writes one request per line to its stdin. Under TCG a fork and exec in a freshly restored guest costs a
 * quarter of a second; a line on a pipe costs microseconds.
 *
 *   clock SECONDS NANOSECONDS   set CLOCK_REALTIME (SECONDS: 0..2^40, NANOSECONDS: 0..999999999)
 *   reseed HEX                  mix 16..512 bytes into the kernel's pool, credited (RNDADDENTROPY), then force the
 *                               CRNG to reseed from it (RNDRESEEDCRNG); needs CAP_SYS_ADMIN
 *
 * Each request gets one reply line, `ok` or `error MESSAGE`, in order. A malformed request is refused and changes
 * nothing; the helper keeps serving until its stdin closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENTROPY 512
#define MIN_ENTROPY 16
#define MAX_LINE (16 + 2 * MAX_ENTROPY)
#define MAX_SECONDS (1ULL << 40)

static int reply(const char *status, const char *detail) {
  if (detail)
    printf("%s %s\n", status, detail);
  else
    printf("%s\n", status);
  return fflush(stdout) == 0 ? 0 : -1;
}

/* Parses a decimal number of at most `digits` digits, whole field, no sign; 0 on success. */
static int parse_decimal(const char *s, unsigned digits, unsigned long long max, unsigned long long *out) {
  size_t n = strlen(s);
  if (n == 0 || n > digits) return -1;
  unsigned long long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > max) return -1;
  *out = v;
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static const char *set_clock(char *args) {
  char *nanos = strchr(args, ' ');
  if (!nanos) return "clock needs SECONDS NANOSECONDS";
  *nanos++ = '\0';
  unsigned long long sec, nsec;
  if (parse_decimal(args, 13, MAX_SECONDS, &sec) != 0) return "clock: SECONDS must be a decimal number 0..2^40";
  if (parse_decimal(nanos, 9, 999999999ULL, &nsec) != 0) return "clock: NANOSECONDS must be a decimal 0..999999999";
  struct timespec ts = {.tv_sec = (time_t)sec, .tv_nsec = (long)nsec};
  if (clock_settime(CLOCK_REALTIME, &ts) != 0) return strerror(errno);
  return NULL;
}

static const char *reseed(const char *hex) {
  static struct {
    struct rand_pool_info info;
    unsigned char buf[MAX_ENTROPY];
  } req;
  size_t len = strlen(hex);
  if (len % 2 != 0 || len / 2 < MIN_ENTROPY || len / 2 > MAX_ENTROPY)
    return "reseed: HEX must be 16..512 bytes as lowercase hex";
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return "reseed: HEX must be 16..512 bytes as lowercase hex";
    req.buf[i] = (unsigned char)(hi << 4 | lo);
  }
  const char *err = NULL;
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return strerror(errno);
  req.info.entropy_count = (int)(len / 2 * 8);
  req.info.buf_size = (int)(len / 2);
  if (ioctl(fd, RNDADDENTROPY, &req.info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0) err = strerror(errno);
  explicit_bzero(req.buf, sizeof req.buf);
  close(fd);
  return err;
}

int main(void) {
  static char line[MAX_LINE + 2];
  while (fgets(line, sizeof line, stdin)) {
    size_t n = strlen(line);
    const char *err;
    if (n == 0 || line[n - 1] != '\n') {
      if (!feof(stdin)) {
        /* Longer than any valid request: refuse it whole, not in pieces. */
        int c;
        while ((c = getchar()) != EOF && c != '\n') {
        }
      }
      err = "request too long or not ended by a newline";
    } else {
      line[n - 1] = '\0';
      if (strncmp(line, "clock ", 6) == 0)
        err = set_clock(line + 6);
      else if (strncmp(line, "reseed ", 7) == 0)
        err = reseed(line + 7);
      else
        err = "unknown request (known: clock, reseed)";
    }
    if ((err ? reply("error", err) : reply("ok", NULL)) != 0) return 1;
  }
  return 0;
}
