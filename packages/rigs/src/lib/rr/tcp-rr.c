/*
 * tcp-rr: TCP request/response round trips with one message in flight, like sockperf ping-pong, for IPv4 and
 * IPv6 (the sockperf in Debian 12, 3.7, has no IPv6). Every transaction's round trip is written out, in µs.
 *   tcp-rr server ADDR PORT                         echo 14-byte messages, one connection at a time
 *   tcp-rr client ADDR PORT SECONDS WARMUP OUTFILE  ping-pong for SECONDS after WARMUP seconds unrecorded
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 14

static int full(int fd, char *buf, int n, int writing) {
  int done = 0;
  while (done < n) {
    ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
    if (r <= 0) return -1;
    done += (int)r;
  }
  return 0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static struct addrinfo *resolve(const char *addr, const char *port, int passive) {
  struct addrinfo hints = {0}, *res;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  if (getaddrinfo(addr, port, &hints, &res) != 0) { fprintf(stderr, "bad address %s port %s\n", addr, port); exit(2); }
  return res;
}

int main(int argc, char **argv) {
  int one = 1;
  char buf[MSG];
  memset(buf, 'x', MSG);
  if (argc == 4 && strcmp(argv[1], "server") == 0) {
    struct addrinfo *a = resolve(argv[2], argv[3], 1);
    int s = socket(a->ai_family, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, a->ai_addr, a->ai_addrlen) || listen(s, 8)) { perror("listen"); return 1; }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
      int c = accept(s, NULL, NULL);
      if (c < 0) continue;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      while (full(c, buf, MSG, 0) == 0 && full(c, buf, MSG, 1) == 0) {}
      close(c);
    }
  }
  if (argc == 7 && strcmp(argv[1], "client") == 0) {
    struct addrinfo *a = resolve(argv[2], argv[3], 0);
    double seconds = atof(argv[4]), warmup = atof(argv[5]);
    int s = socket(a->ai_family, SOCK_STREAM, 0);
    if (connect(s, a->ai_addr, a->ai_addrlen)) { perror("connect"); return 1; }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t cap = 1 << 20, n = 0;
    float *rtt = malloc(cap * sizeof *rtt);
    double start = now(), t0, t1;
    while ((t0 = now()) - start < warmup) {
      if (full(s, buf, MSG, 1) || full(s, buf, MSG, 0)) { fprintf(stderr, "connection lost\n"); return 1; }
    }
    start = now();
    while ((t0 = now()) - start < seconds) {
      if (full(s, buf, MSG, 1) || full(s, buf, MSG, 0)) { fprintf(stderr, "connection lost\n"); return 1; }
      t1 = now();
      if (n == cap) { cap *= 2; rtt = realloc(rtt, cap * sizeof *rtt); }
      rtt[n++] = (float)((t1 - t0) * 1e6);
    }
    FILE *out = fopen(argv[6], "w");
    if (!out) { perror("output"); return 1; }
    for (size_t i = 0; i < n; i++) fprintf(out, "%.3f\n", rtt[i]);
    fclose(out);
    return 0;
  }
  fprintf(stderr, "usage: tcp-rr server ADDR PORT | tcp-rr client ADDR PORT SECONDS WARMUP OUTFILE\n");
  return 2;
}
