/*
 * Batched UDP sending for the packet relay (issue 20): every packet of one event-loop turn for one
 * camera goes to the kernel in one sendmmsg(2) call, from one buffer, with no JavaScript object per
 * packet. Consecutive packets of one size (a frame's FU-A fragments, cut at the camera's MTU), and
 * a shorter one after them, go as ONE datagram with UDP_SEGMENT (UDP GSO, Linux >= 4.18): the
 * stack, loopback included, is crossed once and the datagram is cut into the original packets
 * (on loopback, on the receiving socket's side), which is most of the per-packet kernel cost.
 * Node-API, plain C; built by workers/relay/native/build.sh (scripts/bootstrap.sh).
 *
 *   openUdp4(): number                      a non-blocking UDP socket bound to 127.0.0.1, port chosen
 *                                           by the kernel; its fd, which the caller hands to
 *                                           dgram's socket.bind({ fd }) (Node owns and closes it)
 *   sendBatch(fd, arena, ends, count): number
 *                                           sends packets [ends[i-1], ends[i]) of `arena` (ends[-1] = 0)
 *                                           on the connected socket `fd`; returns how many were
 *                                           consumed: sent, or dropped by a send error (as the
 *                                           JavaScript path ignores them). Fewer than `count` only
 *                                           when the socket would block: the caller sends the rest.
 *   abi: number                             bumped when the functions above change (or relay_loop.c's)
 *
 * The same addon carries relay_loop.c (the relay's native receive and rewrite path), whose
 * functions relay_register adds; udp_send_packets below is its sender too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdint.h>
#include <node_api.h>

void relay_register(napi_env env, napi_value exports);

#define ABI 2
/* Packets per sendmmsg call (the kernel's UIO_MAXIOV caps a call at 1024). */
#define CHUNK 64
/* UDP_SEGMENT limits: segments per datagram (the kernel's UDP_MAX_SEGMENTS) and bytes of one datagram. */
#define MAX_SEGMENTS 64
#define MAX_SEGMENTED_BYTES 60000
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* Cleared for the process when the kernel refuses UDP_SEGMENT (no offload on the route, kernel < 4.18). */
static int segmentation = 1;

static napi_value throw_errno(napi_env env, const char *what) {
  char message[128];
  snprintf(message, sizeof message, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value open_udp4(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket");
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return throw_errno(env, "bind");
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

/*
 * Sends packets [ends[i-1], ends[i]) of `arena` (ends[-1] = 0) on the connected socket `fd`; how
 * many were consumed: sent, or dropped by a send error. Fewer than `count` only when the socket
 * would block.
 */
uint32_t udp_send_packets(int fd, const uint8_t *arena, const uint32_t *ends, uint32_t count) {
  struct mmsghdr messages[CHUNK];
  struct iovec vectors[CHUNK];
  union {
    char bytes[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } controls[CHUNK];
  /* Packets in each message (a segmented message carries several). */
  uint32_t packets[CHUNK];
  uint32_t consumed = 0;
  while (consumed < count) {
    uint32_t n = 0;
    uint32_t index = consumed;
    while (n < CHUNK && index < count) {
      uint32_t start = index == 0 ? 0 : ends[index - 1];
      uint32_t size = ends[index] - start;
      uint32_t run = 1;
      if (segmentation && size > 0) {
        /* Equal sizes, then at most one shorter: one datagram the kernel cuts at `size` (UDP_SEGMENT). */
        while (index + run < count && run < MAX_SEGMENTS && (run + 1) * size <= MAX_SEGMENTED_BYTES &&
               ends[index + run] - ends[index + run - 1] == size)
          run++;
        uint32_t next = index + run < count ? ends[index + run] - ends[index + run - 1] : 0;
        if (next > 0 && next < size && run < MAX_SEGMENTS && run * size + next <= MAX_SEGMENTED_BYTES) run++;
      }
      uint32_t end = ends[index + run - 1];
      struct msghdr *header = &messages[n].msg_hdr;
      memset(header, 0, sizeof *header);
      vectors[n].iov_base = (char *)arena + start;
      vectors[n].iov_len = end - start;
      header->msg_iov = &vectors[n];
      header->msg_iovlen = 1;
      if (run > 1) {
        memset(&controls[n], 0, sizeof controls[n]);
        header->msg_control = controls[n].bytes;
        header->msg_controllen = sizeof controls[n].bytes;
        struct cmsghdr *control = CMSG_FIRSTHDR(header);
        control->cmsg_level = SOL_UDP;
        control->cmsg_type = UDP_SEGMENT;
        control->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t segment = (uint16_t)size;
        memcpy(CMSG_DATA(control), &segment, sizeof segment);
      }
      packets[n++] = run;
      index += run;
    }
    int sent = sendmmsg(fd, messages, n, MSG_DONTWAIT);
    if (sent > 0) {
      for (int i = 0; i < sent; i++) consumed += packets[i];
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      break;
    } else if (packets[0] > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOPROTOOPT)) {
      /* No segmentation offload on this route (or an older kernel): one datagram per packet from now on. */
      segmentation = 0;
    } else {
      /* The first message failed (e.g. ECONNREFUSED from an ICMP error, EMSGSIZE): dropped. */
      consumed += packets[0];
    }
  }
  return consumed;
}

static napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "sendBatch(fd, arena, ends, count)");
    return NULL;
  }
  int32_t fd;
  uint32_t count;
  void *arena;
  size_t arena_length;
  napi_typedarray_type ends_type;
  size_t ends_length;
  void *ends_data;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &arena, &arena_length) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &ends_type, &ends_length, &ends_data, NULL, NULL) != napi_ok ||
      ends_type != napi_uint32_array || napi_get_value_uint32(env, argv[3], &count) != napi_ok || count > ends_length) {
    napi_throw_type_error(env, NULL, "sendBatch(fd: number, arena: Buffer, ends: Uint32Array, count: number)");
    return NULL;
  }
  const uint32_t *ends = ends_data;
  for (uint32_t i = 0, previous = 0; i < count; previous = ends[i++]) {
    if (ends[i] < previous || ends[i] > arena_length) {
      napi_throw_range_error(env, NULL, "sendBatch: packet ends must increase and stay within the arena");
      return NULL;
    }
  }
  uint32_t consumed = udp_send_packets(fd, arena, ends, count);
  napi_value result;
  napi_create_uint32(env, consumed, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "openUdp4", NAPI_AUTO_LENGTH, open_udp4, NULL, &fn);
  napi_set_named_property(env, exports, "openUdp4", fn);
  napi_create_function(env, "sendBatch", NAPI_AUTO_LENGTH, send_batch, NULL, &fn);
  napi_set_named_property(env, exports, "sendBatch", fn);
  napi_value abi;
  napi_create_int32(env, ABI, &abi);
  napi_set_named_property(env, exports, "abi", abi);
  relay_register(env, exports);
  return exports;
}
