/*
 * coppice-reseed: mixes the bytes read on stdin into the kernel's entropy pool (RNDADDENTROPY, credited) and
 * forces the CRNG to reseed from it (RNDRESEEDCRNG). Clones restored from one checkpoint share the CRNG state of
 * the moment it was taken, so each clone needs this with its own fresh host entropy. Needs CAP_SYS_ADMIN.
 *
 *   usage: head -c 64 /dev/urandom | coppice-reseed     (at most 512 bytes are used)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_BYTES 512
#define MIN_BYTES 16

int main(void) {
  struct {
    struct rand_pool_info info;
    unsigned char buf[MAX_BYTES];
  } req;
  size_t n = 0;
  while (n < MAX_BYTES) {
    ssize_t r = read(0, req.buf + n, MAX_BYTES - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      fprintf(stderr, "coppice-reseed: reading stdin: %s\n", strerror(errno));
      return 1;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  if (n < MIN_BYTES) {
    fprintf(stderr, "coppice-reseed: need at least %d bytes of entropy on stdin, got %zu\n", MIN_BYTES, n);
    return 2;
  }
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    fprintf(stderr, "coppice-reseed: opening /dev/urandom: %s\n", strerror(errno));
    return 1;
  }
  req.info.entropy_count = (int)(n * 8);
  req.info.buf_size = (int)n;
  if (ioctl(fd, RNDADDENTROPY, &req.info) < 0) {
    fprintf(stderr, "coppice-reseed: RNDADDENTROPY: %s\n", strerror(errno));
    return 1;
  }
  if (ioctl(fd, RNDRESEEDCRNG) < 0) {
    fprintf(stderr, "coppice-reseed: RNDRESEEDCRNG: %s\n", strerror(errno));
    return 1;
  }
  explicit_bzero(req.buf, sizeof req.buf);
  close(fd);
  return 0;
}
