/*
 * nft-set-elements: applies batches of set-element adds and deletes to one nftables table as single netlink
 * transactions, for cubenet's bulk policy changes. nft(8) spends ~3.5 µs per element parsing and evaluating text;
 * the kernel's own cost for a hash-set element is a fraction of that, so a 1 000-address replace is sent here as
 * raw keys instead. Everything else (the table, its chains, small changes, the slow paths) stays with nft.
 *
 * Usage: nft-set-elements <family: inet|bridge> <table>
 * Reads transactions from stdin, one line each:
 *   <seq> (<op> [<family>:]<set> <key-hex>[-<key-end-hex>][=<data-hex>][+<comment-hex>])...
 * op: a (create: the element must not exist), e (ensure present: an identical element is left as it is, one with
 * other data fails), d (delete: the element must exist). family: inet or bridge, the table of the same name in that
 * family (default: the one given on the command line), so one transaction can span cubenet's two tables.
 * A key is the element's bytes as the kernel holds them: a concatenation's fields in network byte order, each
 * padded to 4 bytes. key-end makes a range element (interval sets of concatenations), data a map element's value,
 * comment the element's comment (as nft writes it: NUL-terminated, in the element's user data). Items are applied
 * in the order given (consecutive items of one op and set share a netlink message), so a caller puts deletes
 * before adds where an interval set needs it, and "ensure absent" is an `e` then a `d` of the same element.
 * Answers one line per transaction on stdout: "<seq> ok" or "<seq> error <errno> <message>" (the transaction is
 * then not applied: the kernel aborts a batch as a whole).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_KEY 64
#define MAX_LINE (8 << 20)
#define BATCH_BYTES (16 << 20)
/* Elements per netlink message: the element list is a nested attribute, whose length is 16 bits. */
#define ELEMS_PER_MSG 256

static int family;
static const char *table;
static struct mnl_socket *nl;
static uint32_t portid;
static char *batch_buf;
static uint32_t seq_counter;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Parses lowercase hex of at most MAX_KEY bytes; returns the byte count or -1. */
static int parse_hex(const char *s, size_t n, uint8_t *out) {
  if (n == 0 || n % 2 || n / 2 > MAX_KEY) return -1;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return (int)(n / 2);
}

static int valid_name(const char *s, size_t n) {
  if (n == 0 || n >= NFT_NAME_MAXLEN) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return 0;
  }
  return 1;
}

#define MAX_COMMENT MAX_KEY

struct op {
  char kind; /* 'a', 'e' or 'd' */
  int family;
  char set[NFT_NAME_MAXLEN];
  uint8_t key[MAX_KEY], end[MAX_KEY], data[MAX_KEY];
  int key_len, end_len, data_len;
  uint8_t comment[MAX_COMMENT];
  int comment_len;
};

static void answer(const char *seq, int err, const char *msg) {
  if (err == 0) printf("%s ok\n", seq);
  else printf("%s error %d %s\n", seq, err, msg);
  fflush(stdout);
}

/* Appends one NEWSETELEM/DELSETELEM message holding ops[from..to). */
static int put_message(struct mnl_nlmsg_batch *b, struct op *ops, size_t from, size_t to) {
  struct nftnl_set *s = nftnl_set_alloc();
  if (!s) return -ENOMEM;
  nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
  nftnl_set_set_str(s, NFTNL_SET_NAME, ops[from].set);
  for (size_t i = from; i < to; i++) {
    struct nftnl_set_elem *e = nftnl_set_elem_alloc();
    if (!e) {
      nftnl_set_free(s);
      return -ENOMEM;
    }
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, ops[i].key, (uint32_t)ops[i].key_len);
    if (ops[i].end_len) nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, ops[i].end, (uint32_t)ops[i].end_len);
    if (ops[i].data_len) nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, ops[i].data, (uint32_t)ops[i].data_len);
    if (ops[i].comment_len) {
      struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(MAX_COMMENT + 8);
      if (!u) {
        nftnl_set_elem_free(e);
        nftnl_set_free(s);
        return -ENOMEM;
      }
      char text[MAX_COMMENT + 1];
      memcpy(text, ops[i].comment, (size_t)ops[i].comment_len);
      text[ops[i].comment_len] = '\0';
      nftnl_udata_put_strz(u, NFTNL_UDATA_SET_ELEM_COMMENT, text);
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
      nftnl_udata_buf_free(u);
    }
    nftnl_set_elem_add(s, e);
  }
  char kind = ops[from].kind;
  int type = kind == 'd' ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM;
  uint16_t flags = NLM_F_ACK | (kind == 'a' ? NLM_F_CREATE | NLM_F_EXCL : kind == 'e' ? NLM_F_CREATE : 0);
  struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), (uint16_t)type, (uint16_t)ops[from].family, flags, ++seq_counter);
  nftnl_set_elems_nlmsg_build_payload(nlh, s);
  nftnl_set_free(s);
  if (!mnl_nlmsg_batch_next(b)) return -E2BIG;
  return 0;
}

/*
 * Sends ops as one transaction, in their order; 0 or a negative errno (the first the kernel reported). A run of
 * consecutive ops of one kind, family and set is one message (up to ELEMS_PER_MSG elements): one message per
 * element would cost one acknowledgement each.
 */
static int transact(struct op *ops, size_t n) {
  struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(batch_buf, BATCH_BYTES);
  nftnl_batch_begin(mnl_nlmsg_batch_current(b), ++seq_counter);
  mnl_nlmsg_batch_next(b);
  uint32_t first = seq_counter + 1;
  size_t i = 0;
  int err = 0;
  while (i < n && !err) {
    size_t j = i + 1;
    while (j < n && j - i < ELEMS_PER_MSG && ops[j].kind == ops[i].kind && ops[j].family == ops[i].family && strcmp(ops[j].set, ops[i].set) == 0) j++;
    err = put_message(b, ops, i, j);
    i = j;
  }
  uint32_t last = seq_counter;
  if (!err) {
    nftnl_batch_end(mnl_nlmsg_batch_current(b), ++seq_counter);
    mnl_nlmsg_batch_next(b);
    if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) err = -errno;
  }
  mnl_nlmsg_batch_stop(b);
  if (err) return err;
  /* The kernel handles the batch inside sendto, so every answer is queued by now: one ack or error per message. */
  uint32_t expected = last - first + 1, acked = 0;
  int first_err = 0;
  static char rx[65536];
  while (acked < expected) {
    ssize_t got = mnl_socket_recvfrom(nl, rx, sizeof rx);
    if (got < 0) return first_err ? first_err : -errno;
    int left = (int)got;
    for (struct nlmsghdr *h = (struct nlmsghdr *)rx; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first || h->nlmsg_seq > last) continue;
      const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
      if (e->error && !first_err) first_err = e->error;
      acked++;
    }
  }
  return first_err;
}

static struct op *ops;
static size_t ops_cap;

/* Parses one request line into ops; returns the count, or -1 with *why set. */
static long parse_line(char *p, char **seq, const char **why) {
  *seq = p;
  while (*p >= '0' && *p <= '9') p++;
  if (p == *seq || p - *seq > 9 || (*p != ' ' && *p != '\0')) {
    *seq = "0";
    *why = "a request starts with a decimal sequence number (at most 9 digits)";
    return -1;
  }
  if (*p) *p++ = '\0';
  size_t n = 0;
  while (*p) {
    if (n == ops_cap) {
      ops_cap = ops_cap ? ops_cap * 2 : 4096;
      ops = realloc(ops, ops_cap * sizeof *ops);
      if (!ops) {
        *why = "out of memory";
        return -1;
      }
    }
    struct op *o = &ops[n];
    if ((p[0] != 'a' && p[0] != 'e' && p[0] != 'd') || p[1] != ' ') {
      *why = "an element starts with a (create), e (ensure present) or d (delete)";
      return -1;
    }
    o->kind = p[0];
    p += 2;
    o->family = family;
    if (strncmp(p, "inet:", 5) == 0) {
      o->family = NFPROTO_INET;
      p += 5;
    } else if (strncmp(p, "bridge:", 7) == 0) {
      o->family = NFPROTO_BRIDGE;
      p += 7;
    }
    char *set = p;
    while (*p && *p != ' ') p++;
    if (!valid_name(set, (size_t)(p - set)) || *p != ' ') {
      *why = "bad set name";
      return -1;
    }
    memcpy(o->set, set, (size_t)(p - set));
    o->set[p - set] = '\0';
    char *key = ++p;
    while (*p && *p != ' ' && *p != '-' && *p != '=' && *p != '+') p++;
    o->key_len = parse_hex(key, (size_t)(p - key), o->key);
    o->end_len = 0;
    if (o->key_len < 0) {
      *why = "bad key (lowercase hex, at most 64 bytes)";
      return -1;
    }
    if (*p == '-') {
      char *end = ++p;
      while (*p && *p != ' ' && *p != '=' && *p != '+') p++;
      o->end_len = parse_hex(end, (size_t)(p - end), o->end);
      if (o->end_len != o->key_len) {
        *why = "bad key end (lowercase hex, as long as the key)";
        return -1;
      }
    }
    o->data_len = 0;
    if (*p == '=') {
      char *data = ++p;
      while (*p && *p != ' ' && *p != '+') p++;
      o->data_len = parse_hex(data, (size_t)(p - data), o->data);
      if (o->data_len < 0 || o->kind == 'd') {
        *why = "bad data (lowercase hex, at most 64 bytes, not on a delete)";
        return -1;
      }
    }
    o->comment_len = 0;
    if (*p == '+') {
      char *comment = ++p;
      while (*p && *p != ' ') p++;
      size_t hex = (size_t)(p - comment);
      o->comment_len = hex <= 2 * MAX_COMMENT ? parse_hex(comment, hex, o->comment) : -1;
      if (o->comment_len < 0 || o->kind == 'd' || memchr(o->comment, '\0', (size_t)o->comment_len)) {
        *why = "bad comment (lowercase hex of at most 64 bytes without NUL, not on a delete)";
        return -1;
      }
    }
    if (*p == ' ') p++;
    n++;
  }
  return (long)n;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "inet") && strcmp(argv[1], "bridge")) || !valid_name(argv[2], strlen(argv[2]))) {
    fprintf(stderr, "usage: nft-set-elements <inet|bridge> <table>\n");
    return 2;
  }
  family = strcmp(argv[1], "inet") == 0 ? NFPROTO_INET : NFPROTO_BRIDGE;
  table = argv[2];
  nl = mnl_socket_open(NETLINK_NETFILTER);
  if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    perror("nft-set-elements: netlink");
    return 1;
  }
  portid = mnl_socket_get_portid(nl);
  int bufsize = BATCH_BYTES;
  /* A batch is one sendto: the socket's send buffer must hold it (FORCE needs CAP_NET_ADMIN, which nft needs too). */
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof bufsize);
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize);
  /* libmnl's batch may run one message past its limit: the buffer is twice the limit, as its documentation asks. */
  batch_buf = malloc(2 * BATCH_BYTES);
  char *line = malloc(MAX_LINE);
  if (!batch_buf || !line) return 1;
  seq_counter = (uint32_t)time(NULL);
  printf("ready\n");
  fflush(stdout);
  while (fgets(line, MAX_LINE, stdin)) {
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n') line[--len] = '\0';
    else if (len == MAX_LINE - 1) {
      fprintf(stderr, "nft-set-elements: request line longer than %d bytes\n", MAX_LINE);
      return 1;
    }
    char *seq;
    const char *why = "";
    long n = parse_line(line, &seq, &why);
    if (n < 0) {
      answer(seq, EINVAL, why);
      continue;
    }
    int err = n ? transact(ops, (size_t)n) : 0;
    answer(seq, -err, err ? strerror(-err) : "");
  }
  return 0;
}
