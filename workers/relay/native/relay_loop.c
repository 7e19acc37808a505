/*
 * The packet relay's native data path (issue 20): for cameras whose RTP arrives over UDP, every
 * packet is received, checked, counted and rewritten here, and sent on to the camera's mediasoup
 * PlainTransport, without entering JavaScript. One epoll set holds every camera's RTP socket; one
 * libuv poll watches it, so one wakeup of the process serves every camera with packets waiting:
 * recvmmsg(2) up to RX_BATCH packets per camera, then that camera's output in one sendmmsg(2)
 * (under load the wakeups are moderated: MODERATION_MS)
 * (udp_batch.c's sender: a frame's same-size fragments as one UDP_SEGMENT datagram). JavaScript
 * hears only of what changes a camera's state (first packet out, a keyframe, still waiting for
 * one, B slices, packets to sniff), in one callback per round of cameras that has any.
 *
 * The rewriting is H264RtpRewriter.ts's (the reference; the JavaScript path uses it for TCP
 * interleaved cameras and without this addon), rule for rule: RFC 3550 §5.1 header checks, RFC 6184
 * §5.6-5.8 payload inspection, STAP-A [SPS, PPS] inserted before an IDR that lacks them, repeated
 * parameter sets after a slice left out, sequence numbers and timestamps continued across restarts
 * and camera clock jumps. test/unit/native-relay-differential.test.ts feeds both the same generated
 * streams and compares every output byte and counter. The reception statistics (packets, bytes,
 * loss, jitter) are RtpReceptionStats.ts's (RFC 3550 A.1, A.3, A.8), with one arrival time per
 * round of cameras (so the jitter includes up to MODERATION_MS of the relay's own batching); the
 * B-slice check is sliceType.ts's (H.264 §7.3.3). Packets a send error refused (the kernel said
 * ECONNREFUSED or EMSGSIZE) count as sent, as udp_send_packets consumes them.
 *
 * Functions (registered by udp_batch.c's module init; ids are small integers):
 *   relayInit(callback, events: Int32Array, inspect: Buffer)       once per process; callback(count)
 *       gets `count` records of 4 int32 in `events`: id, flags (RELAY_EVENT_*), offset and length
 *       of a copied packet in `inspect` (length 0: none)
 *   relayCreate(ssrc, payloadType, sps: Buffer|null, pps: Buffer|null): id
 *   relayDestroy(id)                 closes its receive socket; the id may be reused
 *   relayRestart(id)                 a new run of the camera (H264RtpRewriter.restart, reception restart)
 *   relaySetOutput(id, fd)           the connected UDP socket to the PlainTransport (-1: none, packets dropped)
 *   relayInspect(id, on)             copy received packets to JavaScript (codec sniffing) or not
 *   relayBind(id, family, port, source: Buffer): port | -errno
 *                                    binds a non-blocking UDP socket (family 4 or 6, port 0: any) that
 *                                    feeds the relay; only datagrams from `source` (4 or 16 bytes)
 *                                    are taken (others counted in sourceDropped)
 *   relayUnbind(id)                  closes the receive socket
 *   relayStats(id, out: Float64Array)  fills STAT_* (see NativeRelay.ts)
 *   relaySps(id): Buffer | undefined   the newest SPS NAL unit
 *   relayPush(id, packet, nowMs): { buffer, ends, events }   one packet through receive processing
 *                                    and the rewriter without sockets (tests); the output packets
 *   relaySeed(id, seq, ts, atMs, lastTimestamp)   continue another path's output after relayRestart
 *                                    (the newest sequence number, timestamp and its wall clock)
 *   relayTestRefuseSends(n)          tests: every n-th send acts as if the socket were full (0: off)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

/* From udp_batch.c. */
uint32_t udp_send_packets(int fd, const uint8_t *arena, const uint32_t *ends, uint32_t count);

#define RTP_HEADER 12
#define CLOCK_RATE_PER_MS 90
#define MAX_CLOCK_DISAGREEMENT 90000
#define REORDER_WINDOW 512
#define REFERENCE_LIFETIME 8192
#define MAX_OFFSET_CHANGES 64
#define NAL_IDR 5
#define NAL_SPS 7
#define NAL_PPS 8
#define NAL_STAP_A 24
#define NAL_FU_A 28
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100

/* Packets taken from one camera's socket per wakeup (fairness: a flooding camera waits its turn). */
#define RX_BATCH 32
/* Largest datagram received whole; longer ones are truncated and counted invalid. */
#define RX_PACKET 65536
#define EPOLL_BATCH 64
/*
 * Receive buffer asked for each camera's socket (the kernel caps it at net.core.rmem_max): a large
 * camera's keyframe arrives as a burst of hundreds of packets faster than one wakeup takes them.
 */
#define RX_BUFFER_BYTES (2 * 1024 * 1024)
/* At most this many bytes wait for a full output socket; beyond, packets are dropped (sendDropped). */
#define BACKLOG_BYTES (512 * 1024)

#define RELAY_EVENT_WROTE 1
#define RELAY_EVENT_KEYFRAME 2
#define RELAY_EVENT_WAITING 4
#define RELAY_EVENT_BSLICE 8
#define RELAY_EVENT_INSPECT 16

enum {
  STAT_PACKETS_IN, STAT_PACKETS_OUT, STAT_DROPPED, STAT_INVALID, STAT_PS_INSERTED, STAT_PS_REMOVED,
  STAT_KEYFRAMES, STAT_REBASES, STAT_SPS_CHANGES, STAT_LAST_KEYFRAME_AT, STAT_KEYFRAME_INTERVAL,
  STAT_WAITING, STAT_RX_PACKETS, STAT_RX_BYTES, STAT_RX_LOST, STAT_RX_JITTER_MS, STAT_LAST_RTP_AT,
  STAT_CAMERA_SSRC, STAT_CAMERA_SEQUENCE, STAT_SENT_PACKETS, STAT_SENT_BYTES, STAT_SENT_FRAMES,
  STAT_SENT_LAST_TIMESTAMP, STAT_SEND_DROPPED, STAT_SOURCE_DROPPED, STAT_SPS_VERSION, STAT_DEFERRED,
  STAT_LAST_OUT_SEQ, STAT_LAST_OUT_TS, STAT_LAST_OUT_AT, STAT_COUNT
};

typedef struct {
  uint16_t in_seq;
  uint16_t offset_before;
  int removed;
} offset_change_t;

typedef struct {
  const uint8_t *sps;
  uint32_t sps_len;
  const uint8_t *pps;
  uint32_t pps_len;
  int idr_start, idr_first_slice, sps_before_idr, pps_before_idr, vcl, only_parameter_sets;
} payload_info_t;

/* One output arena, filled by one camera at a time and sent before the next camera's turn. */
typedef struct {
  uint8_t *bytes;
  uint32_t capacity;
  uint32_t used;
  uint32_t *ends;
  uint32_t ends_capacity;
  uint32_t count;
} output_t;

typedef struct {
  uint32_t generation;
  /* Rewriter (H264RtpRewriter.ts). */
  uint32_t out_ssrc;
  uint8_t out_pt;
  uint8_t *sps;
  uint32_t sps_len;
  uint8_t *pps;
  uint32_t pps_len;
  int waiting, resume_after_restart;
  uint16_t seq_offset;
  uint32_t ts_offset;
  int has_newest;
  uint16_t newest_in_seq;
  int has_start;
  uint16_t start_in_seq;
  offset_change_t changes[MAX_OFFSET_CHANGES + 1];
  int changes_count;
  int has_au;
  uint32_t au_in_ts;
  int au_mapped, au_sent_sps, au_sent_pps, au_idr_counted, au_sent_vcl;
  int has_last_out_seq;
  uint16_t last_out_seq;
  uint32_t last_out_ts;
  int64_t last_out_at;
  double packets_in, packets_out, dropped, invalid, ps_inserted, ps_removed, keyframes, rebases, sps_changes, sps_version;
  int has_last_keyframe;
  int64_t last_keyframe_at;
  int has_keyframe_interval;
  int64_t keyframe_interval;
  /* Reception (RtpReceptionStats.ts). */
  double rx_packets, rx_bytes, rx_lost_before;
  int rx_has_ssrc;
  uint32_t rx_ssrc;
  int64_t rx_base_sequence, rx_max_extended, rx_received;
  double rx_jitter;
  int rx_has_transit;
  int64_t rx_last_transit;
  int64_t last_rtp_at;
  int has_camera_ssrc;
  uint32_t camera_ssrc;
  uint16_t camera_sequence;
  /* Relay (RelayIngest.ts). */
  int failed;
  int inspect;
  double sent_packets, sent_bytes, sent_frames, sent_last_timestamp, send_dropped, source_dropped, deferred;
  int out_fd;
  /* Packets the output socket would not take yet (full), sent before newer ones (see finish_camera). */
  uint8_t *backlog;
  uint32_t backlog_used, backlog_capacity;
  uint32_t *backlog_ends;
  uint32_t backlog_count, backlog_ends_capacity;
  int rx_fd;
  int rx_family;
  uint8_t source[16];
  int events;
} relay_t;

static relay_t **relays;
static uint32_t relay_count;
static output_t output;

static napi_env loop_env;
static napi_ref callback_ref;
static napi_ref events_ref;
static napi_ref inspect_ref;
static napi_async_context async_context;
static int32_t *event_records;
static uint32_t event_capacity;
static uint32_t event_count;
static uint8_t *inspect_bytes;
static uint32_t inspect_capacity;
static uint32_t inspect_used;
static int epoll_fd = -1;
static uv_poll_t poll_handle;
static struct mmsghdr rx_messages[RX_BATCH];
static struct iovec rx_vectors[RX_BATCH];
static struct sockaddr_storage rx_names[RX_BATCH];
static uint8_t *rx_buffers;

static int16_t seq_diff(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b); }
static int32_t ts_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static uint16_t read16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t read32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static void write16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void write32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

static int64_t wall_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* ---- output arena ---- */

static int output_reserve(uint32_t length, uint32_t *offset) {
  if (output.used + length > output.capacity) {
    uint32_t capacity = output.capacity ? output.capacity : 65536;
    while (output.used + length > capacity) capacity *= 2;
    uint8_t *grown = realloc(output.bytes, capacity);
    if (!grown) return 0;
    output.bytes = grown;
    output.capacity = capacity;
  }
  if (output.count == output.ends_capacity) {
    uint32_t capacity = output.ends_capacity ? output.ends_capacity * 2 : 128;
    uint32_t *grown = realloc(output.ends, capacity * sizeof *grown);
    if (!grown) return 0;
    output.ends = grown;
    output.ends_capacity = capacity;
  }
  *offset = output.used;
  output.used += length;
  output.ends[output.count++] = output.used;
  return 1;
}

/* ---- payload inspection (H264RtpRewriter.ts rtpPayloadStart, inspectPayload, noteNal) ---- */

static int rtp_payload_start(const uint8_t *packet, uint32_t length, uint32_t *start) {
  if (length < RTP_HEADER) return 0;
  uint8_t first = packet[0];
  if (first >> 6 != 2) return 0;
  uint32_t offset = RTP_HEADER + 4 * (first & 0x0f);
  if (first & 0x10) {
    if (offset + 4 > length) return 0;
    offset += 4 + 4 * read16(packet + offset + 2);
  }
  if (offset > length) return 0;
  uint32_t padding = (first & 0x20) ? packet[length - 1] : 0;
  if ((first & 0x20) && padding == 0) return 0;
  if (offset + padding >= length) return 0;
  *start = offset;
  return 1;
}

static void note_nal(payload_info_t *info, const uint8_t *nal, uint32_t length) {
  int type = nal[0] & 0x1f;
  if (type >= 1 && type <= NAL_IDR) info->vcl = 1;
  if (type == NAL_SPS) {
    info->sps = nal;
    info->sps_len = length;
  } else if (type == NAL_PPS) {
    info->pps = nal;
    info->pps_len = length;
  } else if (type == NAL_IDR && !info->idr_start) {
    info->idr_start = 1;
    info->idr_first_slice = length > 1 && (nal[1] & 0x80) != 0;
    info->sps_before_idr = info->sps != NULL;
    info->pps_before_idr = info->pps != NULL;
  }
}

static int inspect_payload(const uint8_t *packet, uint32_t start, uint32_t end, payload_info_t *info) {
  memset(info, 0, sizeof *info);
  int type = packet[start] & 0x1f;
  if (type >= 1 && type <= 23) {
    note_nal(info, packet + start, end - start);
    info->only_parameter_sets = type == NAL_SPS || type == NAL_PPS;
  } else if (type == NAL_STAP_A) {
    uint32_t offset = start + 1;
    if (offset >= end) return 0;
    int others = 0;
    while (offset < end) {
      if (offset + 2 > end) return 0;
      uint32_t size = read16(packet + offset);
      offset += 2;
      if (size == 0 || offset + size > end) return 0;
      int nal_type = packet[offset] & 0x1f;
      if (nal_type != NAL_SPS && nal_type != NAL_PPS) others++;
      note_nal(info, packet + offset, size);
      offset += size;
    }
    info->only_parameter_sets = others == 0;
  } else if (type == NAL_FU_A) {
    if (start + 2 >= end) return 0;
    uint8_t header = packet[start + 1];
    int fragment_type = header & 0x1f;
    if (fragment_type >= 1 && fragment_type <= NAL_IDR) info->vcl = 1;
    if ((header & 0x80) && fragment_type == NAL_IDR) {
      info->idr_start = 1;
      info->idr_first_slice = (packet[start + 2] & 0x80) != 0;
    }
  }
  if (!info->idr_start) {
    info->sps_before_idr = info->sps != NULL;
    info->pps_before_idr = info->pps != NULL;
  }
  return 1;
}

/* ---- B slices (sliceType.ts) ---- */

static int bit_at(const uint8_t *bytes, uint32_t bit) { return (bytes[bit >> 3] >> (7 - (bit & 7))) & 1; }

/* The slice type of a packet starting a slice, or -1 (see sliceType.ts h264SliceType). */
static int64_t slice_type(const uint8_t *packet, uint32_t length, uint32_t start) {
  if (start >= length) return -1;
  int type = packet[start] & 0x1f;
  uint32_t offset = start + 1;
  if (type == 28) {
    if (start + 1 >= length || !(packet[start + 1] & 0x80)) return -1;
    type = packet[start + 1] & 0x1f;
    offset = start + 2;
  }
  if (type != 1 && type != 5) return -1;
  uint32_t bit = offset * 8;
  uint32_t limit = (length < offset + 8 ? length : offset + 8) * 8;
  int64_t value = 0;
  for (int n = 0; n < 2; n++) {
    int zeros = 0;
    for (;;) {
      if (bit >= limit || zeros > 31) return -1;
      if (bit_at(packet, bit++) == 1) break;
      zeros++;
    }
    if (bit + zeros > limit) return -1;
    value = 0;
    for (int i = 0; i < zeros; i++) value = value * 2 + bit_at(packet, bit++);
    value += ((int64_t)1 << zeros) - 1;
  }
  return value;
}

/* RelayIngest.ts rtpPayloadOffset: the payload after CSRCs and extension (no padding check). */
static uint32_t relay_payload_offset(const uint8_t *packet, uint32_t length) {
  uint32_t offset = 12 + (packet[0] & 0x0f) * 4;
  if (packet[0] & 0x10) offset = length < offset + 4 ? length : offset + 4 + read16(packet + offset + 2) * 4;
  return offset;
}

/* ---- rewriter (H264RtpRewriter.ts) ---- */

static void rewriter_restart(relay_t *r) {
  r->waiting = 1;
  r->resume_after_restart = r->has_last_out_seq;
  r->has_newest = 0;
  r->has_start = 0;
  r->changes_count = 0;
  r->has_au = 0;
  r->au_mapped = 0;
  r->au_sent_sps = r->au_sent_pps = r->au_idr_counted = r->au_sent_vcl = 0;
}

static void change_offset(relay_t *r, uint16_t in_seq, int delta, int removed) {
  offset_change_t *change = &r->changes[r->changes_count++];
  change->in_seq = in_seq;
  change->offset_before = r->seq_offset;
  change->removed = removed;
  if (r->changes_count > MAX_OFFSET_CHANGES) {
    memmove(r->changes, r->changes + 1, MAX_OFFSET_CHANGES * sizeof *r->changes);
    r->changes_count = MAX_OFFSET_CHANGES;
  }
  r->seq_offset = (uint16_t)(r->seq_offset + delta);
}

static void expire_references(relay_t *r, uint16_t in_seq) {
  if (r->has_start && seq_diff(in_seq, r->start_in_seq) > REFERENCE_LIFETIME) r->has_start = 0;
  int expired = 0;
  while (expired < r->changes_count && seq_diff(in_seq, r->changes[expired].in_seq) > REFERENCE_LIFETIME) expired++;
  if (expired) {
    memmove(r->changes, r->changes + expired, (size_t)(r->changes_count - expired) * sizeof *r->changes);
    r->changes_count -= expired;
  }
}

static int64_t elapsed_ticks(relay_t *r, int64_t now) { return (now - r->last_out_at) * CLOCK_RATE_PER_MS; }

static void rebase_timestamp(relay_t *r, uint32_t in_ts, int64_t now) {
  int64_t elapsed = elapsed_ticks(r, now);
  if (elapsed < 1) elapsed = 1;
  r->ts_offset = (uint32_t)((int64_t)r->last_out_ts + elapsed - (int64_t)in_ts);
}

static void map_access_unit(relay_t *r, uint32_t in_ts, int64_t now) {
  r->au_mapped = 1;
  if (r->has_last_out_seq) {
    uint32_t expected = (uint32_t)((int64_t)r->last_out_ts + elapsed_ticks(r, now));
    int32_t disagreement = ts_diff(in_ts + r->ts_offset, expected);
    if (llabs((long long)disagreement) > MAX_CLOCK_DISAGREEMENT) {
      rebase_timestamp(r, in_ts, now);
      r->rebases += 1;
    }
  }
  r->last_out_ts = in_ts + r->ts_offset;
  r->last_out_at = now;
}

static int same_bytes(const uint8_t *a, uint32_t a_len, const uint8_t *b, uint32_t b_len) {
  return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static void record_parameter_set(relay_t *r, int sps, const uint8_t *nal, uint32_t length) {
  uint8_t **kept = sps ? &r->sps : &r->pps;
  uint32_t *kept_len = sps ? &r->sps_len : &r->pps_len;
  if (*kept && same_bytes(*kept, *kept_len, nal, length)) return;
  uint8_t *copy = malloc(length ? length : 1);
  if (!copy) return;
  memcpy(copy, nal, length);
  if (sps) {
    if (*kept) r->sps_changes += 1;
    r->sps_version += 1;
  }
  free(*kept);
  *kept = copy;
  *kept_len = length;
}

static void count_keyframe(relay_t *r, int64_t now) {
  r->keyframes += 1;
  if (r->has_last_keyframe) {
    r->keyframe_interval = now - r->last_keyframe_at;
    r->has_keyframe_interval = 1;
  }
  r->last_keyframe_at = now;
  r->has_last_keyframe = 1;
}

static void write_rewritten(relay_t *r, const uint8_t *packet, uint32_t length, uint16_t out_seq, uint32_t out_ts) {
  uint32_t start;
  if (!output_reserve(length, &start)) return;
  uint8_t *out = output.bytes + start;
  memcpy(out, packet, length);
  out[1] = (uint8_t)((packet[1] & 0x80) | r->out_pt);
  write16(out + 2, out_seq);
  write32(out + 4, out_ts);
  write32(out + 8, r->out_ssrc);
  r->packets_out += 1;
  if (!r->has_last_out_seq || seq_diff(out_seq, r->last_out_seq) > 0) {
    r->last_out_seq = out_seq;
    r->has_last_out_seq = 1;
  }
}

static void write_parameter_sets(relay_t *r, uint16_t in_seq, uint32_t in_ts) {
  uint32_t start;
  if (!output_reserve(RTP_HEADER + 1 + 2 + r->sps_len + 2 + r->pps_len, &start)) return;
  uint8_t *packet = output.bytes + start;
  uint16_t out_seq = (uint16_t)(in_seq + r->seq_offset);
  packet[0] = 0x80;
  packet[1] = r->out_pt;
  write16(packet + 2, out_seq);
  write32(packet + 4, in_ts + r->ts_offset);
  write32(packet + 8, r->out_ssrc);
  uint8_t f = (r->sps[0] | r->pps[0]) & 0x80;
  uint8_t nri = (r->sps[0] & 0x60) > (r->pps[0] & 0x60) ? (r->sps[0] & 0x60) : (r->pps[0] & 0x60);
  uint32_t offset = RTP_HEADER;
  packet[offset++] = f | nri | NAL_STAP_A;
  write16(packet + offset, (uint16_t)r->sps_len);
  memcpy(packet + offset + 2, r->sps, r->sps_len);
  offset += 2 + r->sps_len;
  write16(packet + offset, (uint16_t)r->pps_len);
  memcpy(packet + offset + 2, r->pps, r->pps_len);
  r->packets_out += 1;
  r->last_out_seq = out_seq;
  r->has_last_out_seq = 1;
}

static int rewrite_late(relay_t *r, const uint8_t *packet, uint32_t length, uint16_t in_seq, uint32_t in_ts) {
  if (r->waiting || (r->has_start && seq_diff(in_seq, r->start_in_seq) < 0)) {
    r->dropped += 1;
    return 0;
  }
  uint16_t offset = r->seq_offset;
  for (int i = 0; i < r->changes_count; i++) {
    offset_change_t *change = &r->changes[i];
    if (change->removed && change->in_seq == in_seq) {
      r->dropped += 1;
      return 0;
    }
    if (seq_diff(in_seq, change->in_seq) < 0) {
      offset = change->offset_before;
      break;
    }
  }
  write_rewritten(r, packet, length, (uint16_t)(in_seq + offset), in_ts + r->ts_offset);
  return 1;
}

/* H264RtpRewriter.forward: the number of packets written to the output arena (0-2). */
static int rewrite(relay_t *r, const uint8_t *packet, uint32_t length, int64_t now) {
  r->packets_in += 1;
  uint32_t payload_start;
  if (!rtp_payload_start(packet, length, &payload_start)) {
    r->invalid += 1;
    return 0;
  }
  uint32_t payload_end = length - ((packet[0] & 0x20) ? packet[length - 1] : 0);
  payload_info_t info;
  if (!inspect_payload(packet, payload_start, payload_end, &info)) {
    r->invalid += 1;
    return 0;
  }
  uint16_t in_seq = read16(packet + 2);
  uint32_t in_ts = read32(packet + 4);
  int behind = r->has_newest ? seq_diff(in_seq, r->newest_in_seq) : 1;
  if (behind <= 0 && behind >= -REORDER_WINDOW) return rewrite_late(r, packet, length, in_seq, in_ts);
  r->newest_in_seq = in_seq;
  r->has_newest = 1;
  expire_references(r, in_seq);
  if (!r->has_au || in_ts != r->au_in_ts) {
    r->has_au = 1;
    r->au_in_ts = in_ts;
    r->au_mapped = r->au_sent_sps = r->au_sent_pps = r->au_idr_counted = 0;
  }
  int repeated = info.only_parameter_sets && r->au_sent_vcl &&
                 (info.sps == NULL || (r->au_sent_sps && r->sps && same_bytes(r->sps, r->sps_len, info.sps, info.sps_len))) &&
                 (info.pps == NULL || (r->au_sent_pps && r->pps && same_bytes(r->pps, r->pps_len, info.pps, info.pps_len)));
  if (info.sps) record_parameter_set(r, 1, info.sps, info.sps_len);
  if (info.pps) record_parameter_set(r, 0, info.pps, info.pps_len);
  if (info.idr_start && !r->au_idr_counted) {
    r->au_idr_counted = 1;
    count_keyframe(r, now);
  }
  if (r->waiting) {
    int can_start = info.idr_start && info.idr_first_slice && r->sps && r->pps;
    if (!can_start) {
      r->dropped += 1;
      return 0;
    }
    r->waiting = 0;
    if (r->resume_after_restart) {
      r->resume_after_restart = 0;
      r->seq_offset = (uint16_t)(r->last_out_seq + 1 - in_seq);
      r->au_mapped = 0;
      rebase_timestamp(r, in_ts, now);
    }
    r->start_in_seq = in_seq;
    r->has_start = 1;
  }
  if (!r->au_mapped) map_access_unit(r, in_ts, now);
  if (repeated) {
    change_offset(r, in_seq, -1, 1);
    r->dropped += 1;
    r->ps_removed += 1;
    return 0;
  }
  int written = 0;
  int carries_sps = r->au_sent_sps || info.sps_before_idr;
  int carries_pps = r->au_sent_pps || info.pps_before_idr;
  if (info.idr_start && !(carries_sps && carries_pps)) {
    write_parameter_sets(r, in_seq, in_ts);
    written++;
    change_offset(r, in_seq, 1, 0);
    r->au_sent_sps = r->au_sent_pps = 1;
    r->ps_inserted += 1;
  }
  if (info.sps) r->au_sent_sps = 1;
  if (info.pps) r->au_sent_pps = 1;
  if (info.vcl) r->au_sent_vcl = 1;
  write_rewritten(r, packet, length, (uint16_t)(in_seq + r->seq_offset), in_ts + r->ts_offset);
  return written + 1;
}

/* ---- reception statistics (RtpReceptionStats.ts) ---- */

static int64_t rx_current_lost(relay_t *r) {
  if (!r->rx_has_ssrc) return 0;
  int64_t expected = r->rx_max_extended - r->rx_base_sequence + 1;
  int64_t lost = expected - r->rx_received;
  return lost > 0 ? lost : 0;
}

static void rx_restart(relay_t *r, int has_ssrc, uint32_t ssrc, uint16_t sequence) {
  r->rx_lost_before += (double)rx_current_lost(r);
  r->rx_has_ssrc = has_ssrc;
  r->rx_ssrc = ssrc;
  r->rx_base_sequence = has_ssrc ? sequence : 0;
  r->rx_max_extended = has_ssrc ? sequence : 0;
  r->rx_received = 0;
  r->rx_jitter = 0;
  r->rx_has_transit = 0;
}

static void rx_push(relay_t *r, const uint8_t *packet, uint32_t length, int64_t arrival_ms) {
  uint32_t ssrc = read32(packet + 8);
  uint16_t sequence = read16(packet + 2);
  uint32_t timestamp = read32(packet + 4);
  r->rx_packets += 1;
  r->rx_bytes += length;
  uint16_t highest = (uint16_t)(r->rx_max_extended & 0xffff);
  uint32_t delta = (uint16_t)(sequence - highest);
  int restarted = delta != 0 && (delta < 0x8000 ? delta > MAX_DROPOUT : 0x10000 - delta > MAX_MISORDER);
  if (!r->rx_has_ssrc || ssrc != r->rx_ssrc || restarted) rx_restart(r, 1, ssrc, sequence);
  r->rx_received++;
  uint32_t ahead = (uint16_t)(sequence - (uint16_t)(r->rx_max_extended & 0xffff));
  if (ahead != 0 && ahead < 0x8000) r->rx_max_extended += ahead;
  int64_t transit = arrival_ms * 90 - (int64_t)timestamp;
  if (r->rx_has_transit) {
    int64_t d = llabs((long long)(transit - r->rx_last_transit));
    if (d > ((int64_t)1 << 31)) d = ((int64_t)1 << 32) - d;
    r->rx_jitter += ((double)d - r->rx_jitter) / 16;
  }
  r->rx_last_transit = transit;
  r->rx_has_transit = 1;
}

/* ---- one received packet (RelayIngest.ts's 'rtp' handler) ---- */


static void add_event_packet(uint32_t id, int flags, const uint8_t *packet, uint32_t length, int between);

static int relay_packet(relay_t *r, uint32_t id, const uint8_t *packet, uint32_t length, int64_t now) {
  if (r->failed) return 0;
  /* RtspClient #onRtp: version 2 and at least the fixed header (RFC 3550 §5.1), else not RTP. */
  if (length < RTP_HEADER || packet[0] >> 6 != 2) return 0;
  r->last_rtp_at = now;
  rx_push(r, packet, length, now);
  r->camera_ssrc = read32(packet + 8);
  r->has_camera_ssrc = 1;
  r->camera_sequence = read16(packet + 2);
  /* Mid-camera: an inspection that does not fit in the copy area now is skipped (the next packets are inspected). */
  if (r->inspect && length <= inspect_capacity - inspect_used) add_event_packet(id, RELAY_EVENT_INSPECT, packet, length, 0);
  if (slice_type(packet, length, relay_payload_offset(packet, length)) % 5 == 1) {
    r->failed = 1;
    r->events |= RELAY_EVENT_BSLICE;
    return 0;
  }
  double keyframes = r->keyframes;
  int written = rewrite(r, packet, length, now);
  if (written > 0) r->events |= RELAY_EVENT_WROTE;
  if (r->keyframes != keyframes) r->events |= RELAY_EVENT_KEYFRAME;
  if (r->waiting) r->events |= RELAY_EVENT_WAITING;
  return written;
}

/* ---- events to JavaScript ---- */

static void deliver_events(void) {
  if (event_count == 0 || !loop_env) return;
  napi_env env = loop_env;
  uint32_t count = event_count;
  event_count = 0;
  inspect_used = 0;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, global, argument, result;
  napi_get_reference_value(env, callback_ref, &callback);
  napi_get_global(env, &global);
  napi_create_uint32(env, count, &argument);
  if (napi_make_callback(env, async_context, global, callback, 1, &argument, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

/*
 * Records an event; a packet to inspect is copied (the record says where). When the records or the
 * copies are full, they are delivered first, but only between cameras (`between`): JavaScript may
 * close the camera being processed. Mid-camera, an inspection that does not fit is skipped (the
 * next packets are inspected).
 */
static void add_event_packet(uint32_t id, int flags, const uint8_t *packet, uint32_t length, int between) {
  if (between && event_count == event_capacity) deliver_events();
  if (event_count == event_capacity) return;
  int32_t *record = event_records + 4 * event_count++;
  record[0] = (int32_t)id;
  record[1] = flags;
  record[2] = 0;
  record[3] = 0;
  if (packet && length <= inspect_capacity - inspect_used) {
    memcpy(inspect_bytes + inspect_used, packet, length);
    record[2] = (int32_t)inspect_used;
    record[3] = (int32_t)length;
    inspect_used += length;
  }
}


/* Counts packets [0, count) of `bytes` as sent: packets, bytes, frames (marker bits), newest timestamp. */
static void count_sent(relay_t *r, const uint8_t *bytes, const uint32_t *ends, uint32_t count) {
  uint32_t start = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (bytes[start + 1] & 0x80) r->sent_frames += 1;
    start = ends[i];
  }
  if (count == 0) return;
  r->sent_packets += count;
  r->sent_bytes += ends[count - 1];
  r->sent_last_timestamp = read32(bytes + (count == 1 ? 0 : ends[count - 2]) + 4);
}

/* Tests (relayTestRefuseSends): every n-th send call acts as if the socket were full. */
static uint32_t refuse_every;
static uint32_t send_calls;

static uint32_t send_packets(relay_t *r, const uint8_t *bytes, const uint32_t *ends, uint32_t count) {
  if (refuse_every > 0 && ++send_calls % refuse_every == 0) return 0;
  return udp_send_packets(r->out_fd, bytes, ends, count);
}

static void clear_backlog(relay_t *r) {
  r->send_dropped += r->backlog_count;
  r->backlog_count = 0;
  r->backlog_used = 0;
}

/* Keeps packet [start, end) of `bytes` for a later send, or drops it when the backlog is full. */
static void keep_for_later(relay_t *r, const uint8_t *bytes, uint32_t start, uint32_t end) {
  uint32_t length = end - start;
  if (r->backlog_used + length > BACKLOG_BYTES) {
    r->send_dropped += 1;
    return;
  }
  if (r->backlog_used + length > r->backlog_capacity) {
    uint32_t capacity = r->backlog_capacity ? r->backlog_capacity : 16384;
    while (r->backlog_used + length > capacity) capacity *= 2;
    uint8_t *grown = realloc(r->backlog, capacity);
    if (!grown) {
      r->send_dropped += 1;
      return;
    }
    r->backlog = grown;
    r->backlog_capacity = capacity;
  }
  if (r->backlog_count == r->backlog_ends_capacity) {
    uint32_t capacity = r->backlog_ends_capacity ? r->backlog_ends_capacity * 2 : 64;
    uint32_t *grown = realloc(r->backlog_ends, capacity * sizeof *grown);
    if (!grown) {
      r->send_dropped += 1;
      return;
    }
    r->backlog_ends = grown;
    r->backlog_ends_capacity = capacity;
  }
  r->deferred += 1;
  memcpy(r->backlog + r->backlog_used, bytes + start, length);
  r->backlog_used += length;
  r->backlog_ends[r->backlog_count++] = r->backlog_used;
}

/*
 * Sends what the camera's packets produced, and queues its state events for JavaScript. A socket
 * that would block (full: a slow receiver) keeps the rest in the camera's backlog, sent first at
 * the camera's next packets, in order, as the JavaScript path leaves them to dgram's queue.
 */
static void finish_camera(relay_t *r, uint32_t id) {
  if (r->backlog_count > 0) {
    uint32_t sent = send_packets(r, r->backlog, r->backlog_ends, r->backlog_count);
    count_sent(r, r->backlog, r->backlog_ends, sent);
    if (sent > 0) {
      uint32_t shift = r->backlog_ends[sent - 1];
      memmove(r->backlog, r->backlog + shift, r->backlog_used - shift);
      for (uint32_t i = sent; i < r->backlog_count; i++) r->backlog_ends[i - sent] = r->backlog_ends[i] - shift;
      r->backlog_count -= sent;
      r->backlog_used -= shift;
    }
  }
  if (output.count > 0) {
    uint32_t sent = r->backlog_count == 0 ? send_packets(r, output.bytes, output.ends, output.count) : 0;
    count_sent(r, output.bytes, output.ends, sent);
    for (uint32_t i = sent; i < output.count; i++) keep_for_later(r, output.bytes, i == 0 ? 0 : output.ends[i - 1], output.ends[i]);
    output.count = 0;
    output.used = 0;
  }
  if (r->events) {
    int flags = r->events;
    r->events = 0;
    add_event_packet(id, flags, NULL, 0, 1);
  }
}

/* ---- receive loop ---- */

static int source_matches(relay_t *r, const struct sockaddr_storage *name) {
  if (name->ss_family == AF_INET && r->rx_family == 4) {
    return memcmp(&((const struct sockaddr_in *)name)->sin_addr, r->source, 4) == 0;
  }
  if (name->ss_family == AF_INET6 && r->rx_family == 6) {
    return memcmp(&((const struct sockaddr_in6 *)name)->sin6_addr, r->source, 16) == 0;
  }
  return 0;
}

/* Serves one camera: its waiting packets (at most RX_BATCH); whether it had RX_BATCH (more may wait). */
static int receive_from(uint32_t id, int64_t now) {
  relay_t *r = relays[id];
  for (int i = 0; i < RX_BATCH; i++) {
    rx_vectors[i].iov_base = rx_buffers + (size_t)i * RX_PACKET;
    rx_vectors[i].iov_len = RX_PACKET;
    memset(&rx_messages[i].msg_hdr, 0, sizeof rx_messages[i].msg_hdr);
    rx_messages[i].msg_hdr.msg_iov = &rx_vectors[i];
    rx_messages[i].msg_hdr.msg_iovlen = 1;
    rx_messages[i].msg_hdr.msg_name = &rx_names[i];
    rx_messages[i].msg_hdr.msg_namelen = sizeof rx_names[i];
  }
  int received = recvmmsg(r->rx_fd, rx_messages, RX_BATCH, MSG_DONTWAIT, NULL);
  /* No output yet (SETUP/PLAY under way) or any more (the run stopped): drained and ignored, as the
     JavaScript path ignores packets outside a run, so the rewriter's state does not move. */
  if (r->out_fd < 0) return received == RX_BATCH;
  for (int i = 0; i < received; i++) {
    const uint8_t *packet = rx_buffers + (size_t)i * RX_PACKET;
    uint32_t length = rx_messages[i].msg_len;
    if (!source_matches(r, &rx_names[i])) {
      r->source_dropped += 1;
      continue;
    }
    if (rx_messages[i].msg_hdr.msg_flags & MSG_TRUNC) {
      r->invalid += 1;
      continue;
    }
    relay_packet(r, id, packet, length, now);
  }
  finish_camera(r, id);
  return received == RX_BATCH;
}

/*
 * Serves every camera with packets waiting; how many cameras that was. A camera that had a full
 * batch (a burst: a large keyframe, a flood) may have more waiting than its socket's buffer holds
 * much longer, so such rounds are repeated at once (at most MAX_PASSES), other cameras served too.
 */
#define MAX_PASSES 16
static int serve_round(int *full);

static int serve_ready(void) {
  int served = 0;
  for (int pass = 0; pass < MAX_PASSES; pass++) {
    int full = 0;
    int n = serve_round(&full);
    served += n;
    if (!full) break;
  }
  return served;
}

static int serve_round(int *full) {
  struct epoll_event ready[EPOLL_BATCH];
  int64_t now = wall_ms();
  int served = 0;
  int n = epoll_wait(epoll_fd, ready, EPOLL_BATCH, 0);
  for (int i = 0; i < n; i++) {
    uint32_t id = (uint32_t)ready[i].data.u64;
    uint32_t generation = (uint32_t)(ready[i].data.u64 >> 32);
    /* A callback earlier in this wakeup may have closed it (and the id may be someone else's now). */
    if (id >= relay_count || !relays[id] || relays[id]->generation != generation || relays[id]->rx_fd < 0) continue;
    if (receive_from(id, now)) *full = 1;
    served++;
  }
  deliver_events();
  return served;
}

/*
 * Wakeup moderation: after a wakeup that found packets, the poll is stopped and the cameras are
 * served again MODERATION_MS later, for as long as each round finds packets; a round that finds
 * none starts the poll again. A packet after a quiet spell is served at once; under load the
 * process wakes about every MODERATION_MS whatever the number of cameras (instead of once per
 * camera burst: real cameras' frames are not aligned), and each camera's packets of the interval
 * leave in one sendmmsg. It adds at most about MODERATION_MS (plus libuv's 1 ms timer granularity)
 * to a packet. Measured in bench:ingest: a third less worker CPU at 10 and 50 cameras.
 */
#define MODERATION_MS 2
static uv_timer_t moderation_timer;

static void on_readable(uv_poll_t *handle, int status, int events);

static void on_moderation_timer(uv_timer_t *timer) {
  /* If the poll cannot be started again, the cameras are served by this timer alone (never dropped). */
  if (serve_ready() > 0 || uv_poll_start(&poll_handle, UV_READABLE, on_readable) != 0) uv_timer_start(timer, on_moderation_timer, MODERATION_MS, 0);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  /* An error stops the poll (libuv): the timer below tries it again, so no camera is left unserved. */
  if (status >= 0) serve_ready();
  uv_poll_stop(handle);
  uv_timer_start(&moderation_timer, on_moderation_timer, MODERATION_MS, 0);
}

/* ---- Node-API ---- */

static napi_value throw_message(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value undefined_value(napi_env env) {
  napi_value value;
  napi_get_undefined(env, &value);
  return value;
}

static relay_t *relay_arg(napi_env env, napi_value value, uint32_t *id_out) {
  uint32_t id;
  if (napi_get_value_uint32(env, value, &id) != napi_ok || id >= relay_count || !relays[id]) {
    napi_throw_range_error(env, NULL, "relay: unknown id");
    return NULL;
  }
  if (id_out) *id_out = id;
  return relays[id];
}

/* The arguments of a call on one relay: `count` into argv, argv[0] its id. The relay, or NULL with an exception pending. */
static relay_t *relay_call(napi_env env, napi_callback_info info, size_t count, napi_value *argv, uint32_t *id) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < count) {
    napi_throw_type_error(env, NULL, "relay: missing arguments");
    return NULL;
  }
  return relay_arg(env, argv[0], id);
}

static napi_value relay_init(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (loop_env) return throw_message(env, "relayInit: already initialised");
  if (argc < 3) return throw_message(env, "relayInit(callback, events, inspect)");
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array || length < 4)
    return throw_message(env, "relayInit: events must be an Int32Array");
  void *inspect;
  size_t inspect_length;
  if (napi_get_buffer_info(env, argv[2], &inspect, &inspect_length) != napi_ok) return throw_message(env, "relayInit: inspect must be a Buffer");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_message(env, "relayInit: no event loop");
  rx_buffers = malloc((size_t)RX_BATCH * RX_PACKET);
  if (!rx_buffers) return throw_message(env, "relayInit: out of memory");
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    free(rx_buffers);
    rx_buffers = NULL;
    return throw_message(env, "relayInit: epoll_create1 failed");
  }
  if (uv_poll_init(loop, &poll_handle, epoll_fd) != 0) {
    close(epoll_fd);
    epoll_fd = -1;
    free(rx_buffers);
    rx_buffers = NULL;
    return throw_message(env, "relayInit: uv_poll_init failed");
  }
  /* A poll that will not start now is started by the moderation timer (on_moderation_timer). */
  uv_timer_init(loop, &moderation_timer);
  uv_unref((uv_handle_t *)&moderation_timer);
  if (uv_poll_start(&poll_handle, UV_READABLE, on_readable) != 0) uv_timer_start(&moderation_timer, on_moderation_timer, MODERATION_MS, 0);
  /* The cameras' RTSP sessions and the worker's IPC keep the process alive, not this poll. */
  uv_unref((uv_handle_t *)&poll_handle);
  napi_create_reference(env, argv[0], 1, &callback_ref);
  napi_create_reference(env, argv[1], 1, &events_ref);
  napi_create_reference(env, argv[2], 1, &inspect_ref);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "C5RelayLoop", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &async_context);
  event_records = data;
  event_capacity = (uint32_t)(length / 4);
  inspect_bytes = inspect;
  inspect_capacity = (uint32_t)inspect_length;
  loop_env = env;
  return undefined_value(env);
}

static int copy_buffer_arg(napi_env env, napi_value value, uint8_t **out, uint32_t *out_len) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type == napi_null || type == napi_undefined) return 1;
  void *data;
  size_t length;
  if (napi_get_buffer_info(env, value, &data, &length) != napi_ok || length == 0 || length > 65535) return 0;
  *out = malloc(length);
  if (!*out) return 0;
  memcpy(*out, data, length);
  *out_len = (uint32_t)length;
  return 1;
}

static napi_value relay_create(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t ssrc, pt;
  if (argc < 4 || napi_get_value_uint32(env, argv[0], &ssrc) != napi_ok || napi_get_value_uint32(env, argv[1], &pt) != napi_ok)
    return throw_message(env, "relayCreate(ssrc, payloadType, sps, pps)");
  relay_t *r = calloc(1, sizeof *r);
  if (!r) return throw_message(env, "relayCreate: out of memory");
  if (!copy_buffer_arg(env, argv[2], &r->sps, &r->sps_len) || !copy_buffer_arg(env, argv[3], &r->pps, &r->pps_len)) {
    free(r->sps);
    free(r);
    return throw_message(env, "relayCreate: sps and pps must be non-empty Buffers (at most 65535 bytes) or null");
  }
  /* Parameter sets given at construction are known but not "seen": a version for JavaScript to parse. */
  if (r->sps) r->sps_version = 1;
  r->out_ssrc = ssrc;
  r->out_pt = (uint8_t)(pt & 0x7f);
  r->waiting = 1;
  r->out_fd = -1;
  r->rx_fd = -1;
  uint32_t id = 0;
  while (id < relay_count && relays[id]) id++;
  if (id == relay_count) {
    relay_t **grown = realloc(relays, (size_t)(relay_count + 1) * sizeof *grown);
    if (!grown) {
      free(r->sps);
      free(r->pps);
      free(r);
      return throw_message(env, "relayCreate: out of memory");
    }
    relays = grown;
    relays[relay_count++] = NULL;
  }
  static uint32_t generations;
  r->generation = ++generations;
  relays[id] = r;
  napi_value result;
  napi_create_uint32(env, id, &result);
  return result;
}

static void close_receiver(relay_t *r) {
  if (r->rx_fd < 0) return;
  if (epoll_fd >= 0) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, r->rx_fd, NULL);
  close(r->rx_fd);
  r->rx_fd = -1;
}

static napi_value relay_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint32_t id;
  relay_t *r = relay_call(env, info, 1, argv, &id);
  if (!r) return NULL;
  close_receiver(r);
  free(r->sps);
  free(r->pps);
  free(r->backlog);
  free(r->backlog_ends);
  free(r);
  relays[id] = NULL;
  return undefined_value(env);
}

static napi_value relay_restart(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  relay_t *r = relay_call(env, info, 1, argv, NULL);
  if (!r) return NULL;
  rewriter_restart(r);
  rx_restart(r, 0, 0, 0);
  r->failed = 0;
  r->has_camera_ssrc = 0;
  return undefined_value(env);
}

static napi_value relay_set_output(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  relay_t *r = relay_call(env, info, 2, argv, NULL);
  if (!r) return NULL;
  int32_t fd;
  if (napi_get_value_int32(env, argv[1], &fd) != napi_ok) return throw_message(env, "relaySetOutput(id, fd)");
  /* Packets held for the previous socket are not for the new one. */
  if (fd != r->out_fd) clear_backlog(r);
  r->out_fd = fd;
  return undefined_value(env);
}

static napi_value relay_inspect(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  relay_t *r = relay_call(env, info, 2, argv, NULL);
  if (!r) return NULL;
  bool on;
  if (napi_get_value_bool(env, argv[1], &on) != napi_ok) return throw_message(env, "relayInspect(id, on)");
  r->inspect = on;
  return undefined_value(env);
}

static napi_value relay_bind(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t id;
  relay_t *r = relay_call(env, info, 4, argv, &id);
  if (!r) return NULL;
  if (!loop_env) return throw_message(env, "relayBind before relayInit");
  uint32_t family, port;
  void *source;
  size_t source_length;
  if (napi_get_value_uint32(env, argv[1], &family) != napi_ok || (family != 4 && family != 6) || napi_get_value_uint32(env, argv[2], &port) != napi_ok ||
      port > 65535 || napi_get_buffer_info(env, argv[3], &source, &source_length) != napi_ok || source_length != (family == 4 ? 4u : 16u))
    return throw_message(env, "relayBind(id, family: 4|6, port, source: Buffer of 4|16 bytes)");
  close_receiver(r);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int result;
  if (fd < 0) {
    result = -errno;
  } else {
    struct sockaddr_storage address;
    socklen_t address_length;
    memset(&address, 0, sizeof address);
    if (family == 4) {
      struct sockaddr_in *in4 = (struct sockaddr_in *)&address;
      in4->sin_family = AF_INET;
      in4->sin_port = htons((uint16_t)port);
      in4->sin_addr.s_addr = htonl(INADDR_ANY);
      address_length = sizeof *in4;
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
      in6->sin6_addr = in6addr_any;
      address_length = sizeof *in6;
    }
    int buffer = RX_BUFFER_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN;
    event.data.u64 = ((uint64_t)r->generation << 32) | id;
    if (bind(fd, (struct sockaddr *)&address, address_length) != 0 || getsockname(fd, (struct sockaddr *)&address, &address_length) != 0 ||
        epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
      result = -errno;
      close(fd);
    } else {
      result = ntohs(family == 4 ? ((struct sockaddr_in *)&address)->sin_port : ((struct sockaddr_in6 *)&address)->sin6_port);
      r->rx_fd = fd;
      r->rx_family = (int)family;
      memcpy(r->source, source, source_length);
    }
  }
  napi_value value;
  napi_create_int32(env, result, &value);
  return value;
}

static napi_value relay_unbind(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  relay_t *r = relay_call(env, info, 1, argv, NULL);
  if (!r) return NULL;
  close_receiver(r);
  return undefined_value(env);
}

static napi_value relay_stats(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  relay_t *r = relay_call(env, info, 2, argv, NULL);
  if (!r) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array || length < STAT_COUNT)
    return throw_message(env, "relayStats(id, out: Float64Array of RELAY_STAT_COUNT)");
  double *out = data;
  out[STAT_PACKETS_IN] = r->packets_in;
  out[STAT_PACKETS_OUT] = r->packets_out;
  out[STAT_DROPPED] = r->dropped;
  out[STAT_INVALID] = r->invalid;
  out[STAT_PS_INSERTED] = r->ps_inserted;
  out[STAT_PS_REMOVED] = r->ps_removed;
  out[STAT_KEYFRAMES] = r->keyframes;
  out[STAT_REBASES] = r->rebases;
  out[STAT_SPS_CHANGES] = r->sps_changes;
  out[STAT_LAST_KEYFRAME_AT] = r->has_last_keyframe ? (double)r->last_keyframe_at : NAN;
  out[STAT_KEYFRAME_INTERVAL] = r->has_keyframe_interval ? (double)r->keyframe_interval : NAN;
  out[STAT_WAITING] = r->waiting;
  out[STAT_RX_PACKETS] = r->rx_packets;
  out[STAT_RX_BYTES] = r->rx_bytes;
  out[STAT_RX_LOST] = r->rx_lost_before + (double)rx_current_lost(r);
  out[STAT_RX_JITTER_MS] = r->rx_jitter * 1000 / 90000;
  out[STAT_LAST_RTP_AT] = r->last_rtp_at ? (double)r->last_rtp_at : NAN;
  out[STAT_CAMERA_SSRC] = r->has_camera_ssrc ? (double)r->camera_ssrc : NAN;
  out[STAT_CAMERA_SEQUENCE] = r->camera_sequence;
  out[STAT_SENT_PACKETS] = r->sent_packets;
  out[STAT_SENT_BYTES] = r->sent_bytes;
  out[STAT_SENT_FRAMES] = r->sent_frames;
  out[STAT_SENT_LAST_TIMESTAMP] = r->sent_last_timestamp;
  out[STAT_SEND_DROPPED] = r->send_dropped;
  out[STAT_SOURCE_DROPPED] = r->source_dropped;
  out[STAT_SPS_VERSION] = r->sps_version;
  out[STAT_DEFERRED] = r->deferred;
  out[STAT_LAST_OUT_SEQ] = r->has_last_out_seq ? r->last_out_seq : NAN;
  out[STAT_LAST_OUT_TS] = r->last_out_ts;
  out[STAT_LAST_OUT_AT] = (double)r->last_out_at;
  return undefined_value(env);
}

static napi_value relay_sps(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  relay_t *r = relay_call(env, info, 1, argv, NULL);
  if (!r) return NULL;
  if (!r->sps) return undefined_value(env);
  napi_value result;
  napi_create_buffer_copy(env, r->sps_len, r->sps, NULL, &result);
  return result;
}

/* relaySeed(id, seq, ts, atMs, lastTimestamp): continue the JavaScript path's output (H264RtpRewriter.continueFrom). */
static napi_value relay_seed(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  relay_t *r = relay_call(env, info, 5, argv, NULL);
  if (!r) return NULL;
  uint32_t seq, ts, sent_ts;
  double at;
  if (napi_get_value_uint32(env, argv[1], &seq) != napi_ok || napi_get_value_uint32(env, argv[2], &ts) != napi_ok ||
      napi_get_value_double(env, argv[3], &at) != napi_ok || napi_get_value_uint32(env, argv[4], &sent_ts) != napi_ok)
    return throw_message(env, "relaySeed(id, seq, ts, atMs, lastTimestamp)");
  r->last_out_seq = (uint16_t)seq;
  r->has_last_out_seq = 1;
  r->last_out_ts = ts;
  r->last_out_at = (int64_t)at;
  r->resume_after_restart = 1;
  r->sent_last_timestamp = sent_ts;
  return undefined_value(env);
}

/* Test entry: every n-th send call is refused as by a full socket (0: none). */
static napi_value relay_test_refuse_sends(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &refuse_every) != napi_ok) return throw_message(env, "relayTestRefuseSends(every)");
  send_calls = 0;
  return undefined_value(env);
}

/* Test entry: one packet through relay_packet without sockets; returns { buffer, ends, events }. */
static napi_value relay_push(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint32_t id;
  relay_t *r = relay_call(env, info, 3, argv, &id);
  if (!r) return NULL;
  void *packet;
  size_t length;
  double now;
  if (napi_get_buffer_info(env, argv[1], &packet, &length) != napi_ok || napi_get_value_double(env, argv[2], &now) != napi_ok)
    return throw_message(env, "relayPush(id, packet: Buffer, nowMs)");
  output.count = 0;
  output.used = 0;
  relay_packet(r, id, packet, (uint32_t)length, (int64_t)now);
  napi_value result, buffer, ends, events;
  napi_create_object(env, &result);
  napi_create_buffer_copy(env, output.used, output.used ? output.bytes : (const uint8_t *)"", NULL, &buffer);
  napi_create_array_with_length(env, output.count, &ends);
  for (uint32_t i = 0; i < output.count; i++) {
    napi_value end;
    napi_create_uint32(env, output.ends[i], &end);
    napi_set_element(env, ends, i, end);
  }
  napi_create_int32(env, r->events, &events);
  r->events = 0;
  output.count = 0;
  output.used = 0;
  napi_set_named_property(env, result, "buffer", buffer);
  napi_set_named_property(env, result, "ends", ends);
  napi_set_named_property(env, result, "events", events);
  return result;
}

void relay_register(napi_env env, napi_value exports) {
  struct {
    const char *name;
    napi_callback function;
  } functions[] = {
      {"relayInit", relay_init},       {"relayCreate", relay_create},   {"relayDestroy", relay_destroy}, {"relayRestart", relay_restart},
      {"relaySetOutput", relay_set_output}, {"relayInspect", relay_inspect}, {"relayBind", relay_bind}, {"relayUnbind", relay_unbind},
      {"relayStats", relay_stats},     {"relaySps", relay_sps},         {"relayPush", relay_push},
      {"relayTestRefuseSends", relay_test_refuse_sends}, {"relaySeed", relay_seed},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].function, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  napi_value count;
  napi_create_int32(env, STAT_COUNT, &count);
  napi_set_named_property(env, exports, "relayStatCount", count);
}
