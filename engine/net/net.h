/* net: live meetings over UDP. Senders stream the codec's packets (engine/codec) to receivers, encrypted and
 * authenticated with a key every member derives from the meeting secret; receivers reorder, de-jitter, conceal
 * loss and hand the result to the renderer as a struct meet_feed (engine/meet/meet.h).
 *
 * Transport. One non-blocking UDP socket per endpoint, IPv4 or IPv6 ("[::]:PORT" listens on both). Each
 * update drains what the kernel has queued, up to a cap, and never waits. Datagrams are at most
 * NET_DATAGRAM_MAX bytes (safe under any path MTU of 1280 with IPv6 and UDP headers); a codec packet larger
 * than one datagram's payload is split into fragments, reassembled in bounded slots that expire.
 *
 * Security model. Everyone holding the meeting secret is a member; nobody else can read or inject a stream.
 * The key is BLAKE2b (libsodium crypto_generichash) of the secret, keyed again with the meeting name as context,
 * so one secret gives unrelated keys for different meetings; secrets must be high-entropy (at least 16 bytes,
 * e.g. `head -c 32 /dev/urandom > secret`), since a fast hash does not slow down guessing. Every datagram is
 * XChaCha20-Poly1305 (IETF) with its 24-byte header as associated data; the nonce is the sender id, the
 * sender's epoch (start time in ms and 16 random bits) and a 64-bit datagram sequence, so no nonce repeats while
 * ids are unique (receivers take random ids with the high bit set) and even a restarted sender gets a new epoch.
 * Datagrams that fail authentication, come from a sender that has not announced itself, or replay are dropped and
 * counted before any of their bytes is parsed further. Metadata in the clear: sender id, epoch, sequence,
 * message type and sizes.
 *
 * Consent (RFC 7675's idea): a sender streams to an address only while that address has proved, within the
 * last NET_CONSENT_MS, that it holds the meeting key and receives there. A sender answers a HELLO, and probes
 * its configured peers and its destinations every NET_HELLO_MS, with a CHALLENGE: a cookie, BLAKE2b keyed with
 * a random key of this sender run over the address it goes to and the current NET_COOKIE_MS time bucket. Only a
 * CONSENT from that same address echoing the cookie (this bucket or the last) makes or refreshes a destination;
 * the sender keeps no state for HELLOs, so replayed or forged ones fill nothing and lock nobody out, and every
 * reply is no larger than what asked for it (a HELLO, CHALLENGE and CONSENT are 72 bytes each): a captured
 * HELLO replayed from another address gets one CHALLENGE back and nothing else, and none at all once it is more
 * than NET_HELLO_WINDOW_MS old (HELLOs carry the receiver's wall clock: this much skew between machines is
 * tolerated; a receiver further off is still reached by the challenges of senders that have it as a peer). A
 * full table (NET_MAX_DESTINATIONS) refuses new destinations until consent of one expires; key frame requests
 * count only from a destination.
 *
 * Freshness for receivers: a receiver seats a participant only on an ANNOUNCE that answers one of its own
 * nonces (random, a new one every NET_NONCE_MS, the current and the previous accepted), which senders learn from
 * CONSENT and echo in every announce (announces are sealed per destination). So an epoch is accepted only bound
 * to a challenge of this receiver, at most 2 * NET_NONCE_MS old; no clock is compared, so clock skew does not
 * matter. Datagrams of an epoch that has not been announced so are dropped, and a captured session replayed into
 * a new receiver seats nobody. Within an epoch, a 1024-datagram sliding window refuses replays; an older epoch is
 * a replay.
 *
 * Per-sender authenticity. Each sender run has its own Ed25519 key pair (libsodium crypto_sign); its ANNOUNCE
 * carries the public key, sealed under the meeting key. ANNOUNCE, FRAME and LEAVE carry a 64-byte signature over
 * header and ciphertext, checked (after the cheaper AEAD, before the replay window moves) against the key bound
 * to that sender id: the announced key of its epoch, kept while the participant is present. A member signing
 * with another key, or announcing a new epoch with another key for a present participant, is dropped and
 * counted as forged, so no member can speak in another's stream, take over a present participant or disturb its
 * statistics. Ids are not identities: once a participant has left (or timed out) its id may be announced anew,
 * by its next run or by any member, with a new key; a crashed sender that restarts waits for its timeout.
 * Cost: 64 bytes per stream datagram (NET_FRAGMENT_DATA falls from 1140 to 1076 bytes) and one Ed25519
 * signature per datagram sent (verification per datagram received); README.md's security section has figures.
 * Receivers' control messages (HELLO, CONSENT, KEY_REQUEST) are not signed: any member can ask a sender for a
 * key frame or a challenge. A relay that forwards sealed datagrams (without the key) sees the clear header
 * (ids, epochs, sequences, types, sizes) and the signatures but not the public keys (those are sealed), so it
 * can drop, delay or replay datagrams (refused, as above) but neither read, forge nor tell members apart.
 *
 * Wire format (little-endian). Header, authenticated, not encrypted:
 *   0  'c' 'v'   2  version (2)   3  type (enum net_message)   4  u32 sender id   8  u64 epoch   16  u64 sequence
 * then the ciphertext of the body and the 16-byte tag, then (ANNOUNCE, LEAVE, FRAME) the 64-byte Ed25519
 * signature of everything before it. Bodies:
 *   HELLO     (a receiver to a sender: challenge me) u64 when it was sent (Unix ms, the receiver's clock), 8 zero
 *             bytes, then the receiver's current nonce (senders take it from the CONSENT only; here it makes the
 *             HELLO as large as the answer)
 *   CHALLENGE (a sender to an address) the 16-byte cookie, then 16 zero bytes
 *   CONSENT   (the receiver's answer) the cookie echoed, then the receiver's current nonce
 *   ANNOUNCE  the receiver nonce it answers (16), the sender's Ed25519 public key (32), u32 avatar id, u32 latent,
 *             32-byte SHA-256 of the avatar file, u8 name length + name, u16 avatar file name length + file name
 *             (relative, '/'-separated, no ".." parts)
 *   LEAVE     empty
 *   FRAME     u64 sender time (us, sender's clock: when the frame was captured), u32 frame number (per sender and
 *             epoch, +1 per codec packet), u16 fragment index, u16 fragment count, u32 packet size, fragment bytes
 *   KEY_REQUEST  u32 participant id whose stream lost frames, u32 the frame number expected next
 *
 * Receiving. Per participant: a jitter buffer of frames by frame number, released in order once their sender
 * time plus the estimated clock offset (the minimum of arrival minus sender time over the last seconds) plus the
 * target delay has passed; the target delay follows the RFC 3550 inter-arrival jitter estimate (rising fast,
 * falling slowly, raised again by frames that come too late). A frame still missing when a later one is due is
 * declared lost; the decoder then waits for a key frame and a key frame request goes back to the sender (at most
 * every 200 ms). Poses are interpolated between the last two decoded frames one frame period behind the release
 * point, moved to the display time the feed is given (net_receiver_update_at), the same way playback does
 * (meet/stream.h: head, hand joints with radii and flags, the nearest frame's code). Concealment of a gap:
 * poses extrapolated and the code held for NET_HOLD_MS, then the code fades to
 * the avatar's neutral code (code.mean) until NET_FREEZE_MS, after which the neutral face is frozen and the
 * participant is MEET_RECONNECTING. No authenticated datagram for the leave timeout (or a LEAVE message):
 * MEET_LEFT; after a timeout the participant's next announce seats it again, after a LEAVE only a later run
 * (epoch) of it can. Senders announce every NET_ANNOUNCE_MS, and at once (with a key frame) to a receiver whose
 * consent is new, so a receiver joining mid-meeting shows everyone within a second.
 *
 * Threads: none; every object is used from one thread. */
#ifndef CAVR_NET_H
#define CAVR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/core.h"
#include "meet/meet.h"

#define NET_VERSION 2
#define NET_HEADER_SIZE 24
#define NET_TAG_SIZE 16
#define NET_KEY_SIZE 32
#define NET_DATAGRAM_MAX 1200                /* bytes of UDP payload, headers and tag included */
#define NET_SIGNATURE_SIZE 64                /* Ed25519, after the tag of ANNOUNCE, LEAVE and FRAME */
#define NET_SIGN_KEY_SIZE 32                 /* Ed25519 public key */
#define NET_NONCE_SIZE 16                    /* receiver nonces and sender cookies */
#define NET_HANDSHAKE_BODY (2 * NET_NONCE_SIZE) /* HELLO, CHALLENGE, CONSENT: cookie, nonce */
#define NET_FRAME_HEADER 20                  /* sender time, frame number, index, count, size */
#define NET_FRAGMENT_DATA (NET_DATAGRAM_MAX - NET_HEADER_SIZE - NET_TAG_SIZE - NET_SIGNATURE_SIZE - NET_FRAME_HEADER) /* 1076 */
#define NET_MAX_FRAGMENTS 128
#define NET_MAX_MESSAGE (NET_MAX_FRAGMENTS * NET_FRAGMENT_DATA) /* largest codec packet carried: 134.5 KiB */
#define NET_MIN_SECRET 16
#define NET_REPLAY_WINDOW 1024               /* datagrams */
#define NET_REASSEMBLY_SLOTS 4               /* partly received packets per participant */
#define NET_REASSEMBLY_TIMEOUT_MS 1000
#define NET_JITTER_SLOTS 128                 /* frames a participant's jitter buffer holds (4.3 s at 30 Hz) */
#define NET_PARTICIPANT_BUFFER (1u << 20)    /* bytes one participant may hold in reassembly and jitter buffer */
#define NET_TOTAL_BUFFER (16u << 20)         /* ... and all of them together */
#define NET_HOLD_MS 150
#define NET_FREEZE_MS 650
#define NET_KEY_REQUEST_MS 200
#define NET_ANNOUNCE_MS 1000
#define NET_HELLO_MS 1000                    /* receivers' HELLOs and senders' challenges */
#define NET_HELLO_WINDOW_MS 60000            /* senders answer HELLOs sent at most this far from their clock */
#define NET_COOKIE_MS 5000                   /* a challenge's cookie is answered within 1-2 of these */
#define NET_CONSENT_MS 10000                 /* a destination not heard from for this long is dropped */
#define NET_NONCE_MS 10000                   /* receivers take a new nonce this often */
#define NET_LEAVE_TIMEOUT_MS 5000
#define NET_MIN_DELAY_MS 5
#define NET_MAX_DELAY_MS 600
#define NET_MAX_DESTINATIONS 64

enum net_message {
	NET_HELLO = 1,
	NET_ANNOUNCE = 2,
	NET_LEAVE = 3,
	NET_FRAME = 4,
	NET_KEY_REQUEST = 5,
	NET_CHALLENGE = 6,
	NET_CONSENT = 7,
};
/* ANNOUNCE, LEAVE and FRAME: a sender's stream, signed. */
bool net_signed_type(uint8_t type);

/* ---- addresses and sockets ---- */

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* "1.2.3.4:PORT", "[::1]:PORT", "[::]:PORT" or "localhost:PORT" (numeric forms only otherwise; no DNS). */
enum cv_result net_addr_parse(const char *text, struct net_addr *out);
void net_addr_format(const struct net_addr *a, char *out, size_t size);
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);
/* Whether this machine can bind ::1 (tests skip IPv6 without it). */
bool net_ipv6_available(void);

/* A bound non-blocking UDP socket. An IPv6 socket also talks to IPv4 peers (v4-mapped addresses). */
struct net_socket {
	int fd;
	int family;
	struct net_addr local;
};
/* bind: NULL binds the wildcard of `family` (AF_INET or AF_INET6) to an ephemeral port. */
enum cv_result net_socket_open(const struct net_addr *bind, int family, struct net_socket *out);
void net_socket_close(struct net_socket *s);
/* false when the kernel queue is full (the datagram is dropped, like any loss); errors are logged once. */
bool net_socket_send(struct net_socket *s, const struct net_addr *to, const void *data, size_t size);
/* One datagram if one is queued: *size = 0 when none. Larger ones are truncated (and then fail authentication).
 * kernel_us (may be NULL): when the kernel received it, CLOCK_REALTIME microseconds (0 when unknown). */
enum cv_result net_socket_recv(struct net_socket *s, void *buf, size_t capacity, size_t *size, struct net_addr *from,
                               int64_t *kernel_us);
int64_t net_realtime_us(void);

/* ---- keys, sealing, replay windows ---- */

/* The meeting key; CV_ERROR_INVALID_ARGUMENT for a secret shorter than NET_MIN_SECRET or an empty meeting. */
enum cv_result net_key_derive(const void *secret, size_t secret_size, const char *meeting, uint8_t key[NET_KEY_SIZE]);
/* Reads a secret file (trailing newline and spaces dropped, so `echo` and editors make usable files). */
enum cv_result net_secret_read(const char *path, uint8_t **secret, size_t *size);
/* Zeroes and frees what net_secret_read gave (a freed secret must not linger in the heap); NULL is fine. */
void net_secret_free(uint8_t **secret, size_t size);

struct net_header {
	uint8_t type;
	uint32_t sender;
	uint64_t epoch, sequence;
};
/* A new epoch for a sender starting now: its start in Unix milliseconds and 16 random bits. */
uint64_t net_new_epoch(void);
/* Writes header + encrypted body into `out` (capacity >= NET_HEADER_SIZE + size + NET_TAG_SIZE); returns the
 * datagram's size, 0 when it does not fit. */
size_t net_seal(const uint8_t key[NET_KEY_SIZE], const struct net_header *h, const void *body, size_t size,
                uint8_t *out, size_t capacity);
/* Appends the Ed25519 signature (secret key from crypto_sign_keypair) of a sealed datagram of `size` bytes;
 * returns the new size, 0 when it does not fit in `capacity`. */
size_t net_sign(const uint8_t secret_key[64], uint8_t *datagram, size_t size, size_t capacity);
/* Whether a signed datagram's signature is `public_key`'s (false for datagrams too short to hold one). */
bool net_verify(const uint8_t public_key[NET_SIGN_KEY_SIZE], const uint8_t *datagram, size_t size);
/* Checks and decrypts a datagram: CV_ERROR_FORMAT when the header does not parse (too short, magic, version,
 * type), CV_ERROR_MISMATCH when authentication fails. The body goes to `body` (size - NET_HEADER_SIZE -
 * NET_TAG_SIZE bytes, less the signature of signed types, which net_verify checks; in-place is fine when
 * body == datagram + NET_HEADER_SIZE). */
enum cv_result net_open(const uint8_t key[NET_KEY_SIZE], const uint8_t *datagram, size_t size, struct net_header *h,
                        uint8_t *body, size_t *body_size);

struct net_replay {
	uint64_t epoch, top; /* highest sequence accepted; bit i of `seen`: top - i was accepted */
	bool started;
	uint64_t seen[NET_REPLAY_WINDOW / 64];
};
enum net_replay_verdict { NET_REPLAY_NEW, NET_REPLAY_NEW_EPOCH, NET_REPLAY_DUPLICATE, NET_REPLAY_OLD };
/* Accepts (and records) or refuses an authenticated datagram's epoch and sequence. */
enum net_replay_verdict net_replay_check(struct net_replay *w, uint64_t epoch, uint64_t sequence);

/* ---- message bodies ---- */

struct net_announce {
	uint8_t nonce[NET_NONCE_SIZE];        /* the receiver nonce this announce answers */
	uint8_t sign_key[NET_SIGN_KEY_SIZE];  /* the sender run's Ed25519 public key */
	uint32_t avatar, latent;
	uint8_t avatar_hash[SESSION_HASH_SIZE];
	char name[SESSION_MAX_NAME + 1];
	char avatar_file[SESSION_MAX_PATH + 1];
};
struct net_fragment {
	uint64_t sender_us;
	uint32_t frame;
	uint16_t index, count;
	uint32_t packet_size;
	const uint8_t *data;
	size_t size;
};
struct net_key_request {
	uint32_t participant, next_frame;
};
struct net_handshake { /* HELLO, CHALLENGE, CONSENT */
	uint8_t cookie[NET_NONCE_SIZE], nonce[NET_NONCE_SIZE];
};
size_t net_announce_write(const struct net_announce *a, uint8_t *out, size_t capacity);
/* Header and data of one fragment (f->data, f->size); returns the body size, 0 when it does not fit. */
size_t net_fragment_write(const struct net_fragment *f, uint8_t *out, size_t capacity);
size_t net_key_request_write(const struct net_key_request *k, uint8_t *out, size_t capacity);
size_t net_handshake_write(const struct net_handshake *h, uint8_t *out, size_t capacity);
/* A HELLO's send time (Unix ms) in its cookie field. */
void net_hello_stamp(struct net_handshake *h, int64_t unix_ms);
int64_t net_hello_time(const struct net_handshake *h);
/* The parsers check every length and value (CV_ERROR_FORMAT): names without control characters, avatar file
 * names relative without "..", fragments consistent with the packet size they claim. */
enum cv_result net_announce_parse(const uint8_t *body, size_t size, struct net_announce *out);
enum cv_result net_fragment_parse(const uint8_t *body, size_t size, struct net_fragment *out);
enum cv_result net_key_request_parse(const uint8_t *body, size_t size, struct net_key_request *out);
enum cv_result net_handshake_parse(const uint8_t *body, size_t size, struct net_handshake *out);

/* Microseconds on the monotonic clock: the default clock of senders and receivers. */
int64_t net_now_us(void);

/* ---- sending ---- */

struct net_sender_desc {
	const char *meeting;
	const void *secret;
	size_t secret_size;
	const char *listen;          /* "ADDR:PORT" to bind; NULL: an ephemeral port */
	const char *const *peers;    /* receivers ("ADDR:PORT") to challenge; more join by sending HELLO. Either way
	                              * they get the stream only once they answered with CONSENT */
	size_t peer_count;
	uint32_t participant;        /* the id in the codec packets, below 2^31 */
	const char *name;            /* display name */
	const char *avatar_file;     /* avatar file name receivers look for */
	uint8_t avatar_hash[SESSION_HASH_SIZE];
	uint32_t avatar, latent;     /* the codec stream's avatar id and latent size */
	int64_t (*clock_us)(void *user); /* NULL: net_now_us */
	void *clock_user;
};

struct net_sender_stats {
	uint64_t frames, datagrams, bytes, announces, key_requests, send_failures, rejected;
	uint64_t hellos;             /* answered with a challenge */
	uint64_t stale_hellos;       /* sent more than NET_HELLO_WINDOW_MS from our clock: not answered */
	uint64_t challenges;         /* sent, in answer to HELLOs and as probes */
	uint64_t consents;           /* CONSENTs accepted (new destinations and refreshes) */
	uint64_t refused;            /* CONSENTs with a wrong or expired cookie, or while the table was full */
	uint32_t destinations;       /* addresses with consent: what a frame is sent to */
};

struct net_sender;
enum cv_result net_sender_create(const struct net_sender_desc *desc, struct net_sender **out);
/* Sends a goodbye (twice) and closes. */
void net_sender_destroy(struct net_sender **s);
/* One codec packet, stamped with the sender time it was captured at (NULL clock reading: now), fragmented,
 * sealed once and sent to every destination. */
enum cv_result net_sender_send(struct net_sender *s, const void *packet, size_t size, int64_t sender_us);
/* Drains the socket (HELLOs, key requests) and announces when due. *key_requested is set when a receiver asked
 * for a key frame (or joined) since the last poll: call codec_encoder_force_key. */
enum cv_result net_sender_poll(struct net_sender *s, bool *key_requested);
/* One datagram as if it came from `from` (the socket path calls this too; fuzzing calls it directly). Answers
 * (challenges, announces) go out through the sender's socket. */
void net_sender_input(struct net_sender *s, const uint8_t *datagram, size_t size, const struct net_addr *from);
/* The challenge cookie this sender gives `to` now (tests and fuzzing answer challenges by hand with it). */
void net_sender_cookie(const struct net_sender *s, const struct net_addr *to, uint8_t cookie[NET_NONCE_SIZE]);
void net_sender_stats(const struct net_sender *s, struct net_sender_stats *out);
const struct net_addr *net_sender_local(const struct net_sender *s);

/* ---- receiving ---- */

/* A participant's avatar, resolved from its announce: the local file and its code statistics. */
struct net_avatar {
	char path[SESSION_MAX_PATH + 1];
	uint32_t latent;
	float *code_mean, *code_std; /* malloc'd, `latent` each; the receiver frees them */
};
typedef enum cv_result (*net_resolve_avatar_fn)(void *user, const struct net_announce *a, struct net_avatar *out);
/* The default: meet_find_avatar (base dir `user`, a const char *, may be NULL), then the file's code.mean and
 * code.std (mean 0 and std 1 when the file has none); the latent must match the announce. */
enum cv_result net_resolve_avatar_file(void *user, const struct net_announce *a, struct net_avatar *out);

/* What the receiver passes on to a recorder, in order per participant. */
enum net_event_kind { NET_EVENT_JOIN, NET_EVENT_PACKET, NET_EVENT_LEAVE };
struct net_event {
	enum net_event_kind kind;
	int64_t time_us;                   /* receiver clock */
	const struct meet_participant *participant;
	const struct net_announce *announce; /* what it announced: name, avatar file name and hash */
	const uint8_t *data;               /* PACKET: the codec packet, released from the jitter buffer */
	size_t size;
};

struct net_receiver_desc {
	const char *meeting;
	const void *secret;
	size_t secret_size;
	const char *listen;                /* "ADDR:PORT"; NULL: no socket (datagrams come through net_receiver_input) */
	const char *const *peers;          /* senders to say HELLO to (they then send here too) */
	size_t peer_count;
	uint32_t id;                       /* our sender id for HELLO and key requests; 0: random, high bit set */
	net_resolve_avatar_fn resolve_avatar; /* NULL: net_resolve_avatar_file with resolve_user as base dir */
	void *resolve_user;
	int64_t (*clock_us)(void *user);   /* NULL: net_now_us */
	void *clock_user;
	void (*on_event)(void *user, const struct net_event *e); /* may be NULL */
	void *event_user;
	uint32_t leave_timeout_ms;         /* 0: NET_LEAVE_TIMEOUT_MS */
	uint32_t fixed_delay_ms;           /* > 0: no adaptation (benchmarks) */
};

/* Counters of everything dropped; what is counted is never decoded. */
struct net_receiver_stats {
	uint64_t datagrams, bytes;
	uint64_t malformed;                /* header does not parse, or an authenticated body does not */
	uint64_t auth_failed;              /* wrong key, tampered, truncated */
	uint64_t unknown_sender;           /* authenticated, but from an id that has not announced itself */
	uint64_t replayed;                 /* duplicate sequence, older than the window, or an older epoch */
	uint64_t stale;                    /* announces answering none of our current nonces, datagrams of an epoch
	                                    * not announced so (a captured session replayed) */
	uint64_t forged;                   /* bad signatures, or another key than the one bound to the sender id */
	uint64_t challenges;               /* CHALLENGEs answered with CONSENT */
	uint64_t fragment_dropped;         /* reassembly: no slot, over a memory bound, or inconsistent */
	uint64_t reassembly_expired;
	uint64_t buffer_full;              /* frames refused by a memory bound */
	uint64_t table_full;               /* announces refused: MEET_MAX_PARTICIPANTS present */
	uint64_t key_requests;
	size_t buffered_bytes, buffered_peak; /* reassembly and jitter buffers, all participants */
};

struct net_participant_stats {
	uint64_t datagrams, bytes, frames;   /* complete packets */
	uint64_t decoded, key_frames;
	uint64_t missing;                    /* frame numbers declared lost at their deadline */
	uint64_t late;                       /* ... of which arrived afterwards (useless by then) */
	uint64_t duplicates, reordered;      /* frames seen twice (or, before the start, a window older than one held);
	                                      * frames arriving after a later one */
	uint64_t undecodable;                /* released but skipped by the decoder (waiting for a key frame) */
	uint64_t rejected;                   /* refused by the decoder */
	uint64_t concealed_updates;          /* updates that showed extrapolated, faded or frozen state */
	uint64_t key_requests;
	double jitter_ms, delay_ms, offset_ms, period_ms;
	int64_t display_sender_us;           /* the sender time shown by the last update */
	int64_t code_sender_us;              /* the sender time of the frame whose code is shown */
	bool code_faded;                     /* the code shown is on its way to (or at) the neutral code */
	bool avatar_missing;
};

struct net_receiver;
enum cv_result net_receiver_create(const struct net_receiver_desc *desc, struct net_receiver **out);
void net_receiver_destroy(struct net_receiver **r);
/* Drains the socket, releases due frames, conceals gaps, and fills the participants as they look now. */
enum cv_result net_receiver_update(struct net_receiver *r);
/* The same, filling the participants as they look at display time `display_us` (receiver clock; a frame shown
 * after now, like a headset's predicted display time): the release point moves by display_us - now, what is
 * released and concealed does not. Shown sender times never go backwards from one update to the next. */
enum cv_result net_receiver_update_at(struct net_receiver *r, int64_t display_us);
/* The receiver's current nonce: announces must answer it (or the previous one). Tests and fuzzing seal their
 * own announces with it. */
void net_receiver_nonce(const struct net_receiver *r, uint8_t nonce[NET_NONCE_SIZE]);
/* One datagram as if it came from `from` (the socket path calls this too; fuzzing and tests call it directly). */
void net_receiver_input(struct net_receiver *r, const uint8_t *datagram, size_t size, const struct net_addr *from);
/* The participants in join order; valid until the next update. */
struct meet_participant *net_receiver_participants(struct net_receiver *r, uint32_t *count);
void net_receiver_stats(const struct net_receiver *r, struct net_receiver_stats *out);
/* Per participant by id: CV_ERROR_INVALID_ARGUMENT when unknown. */
enum cv_result net_receiver_participant_stats(const struct net_receiver *r, uint32_t id,
                                              struct net_participant_stats *out);
const struct net_addr *net_receiver_local(const struct net_receiver *r);
/* The receiver's clock now (desc.clock_us, or net_now_us), microseconds. */
int64_t net_receiver_now(const struct net_receiver *r);

/* ---- the feed ---- */

/* A live meeting as a struct meet_feed: update(time_s) drains the socket and fills the participants as they look
 * at display time time_s (meet.h: seconds on the presenter's clock, tied to the receiver's clock at the first
 * update with time_s > 0; time_s <= 0: now); duration_s is -1. */
enum cv_result net_feed_create(const struct net_receiver_desc *desc, struct meet_feed **out);
/* The receiver inside a feed made by net_feed_create (stats), or NULL for another feed. */
struct net_receiver *net_feed_receiver(struct meet_feed *feed);

#endif
