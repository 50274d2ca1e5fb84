/* net: addresses and the non-blocking UDP socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

int64_t net_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool parse_port(const char *s, uint16_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v > 65535) return false;
	*out = (uint16_t)v;
	return true;
}

enum cv_result net_addr_parse(const char *text, struct net_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!text) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "no address");
	char host[INET6_ADDRSTRLEN + 8];
	const char *port;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
			return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "address '%s': expected [IPv6]:PORT", text);
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon || (size_t)(colon - text) >= sizeof(host))
			return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "address '%s': expected ADDR:PORT ([ADDR]:PORT for IPv6)", text);
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = colon + 1;
	}
	uint16_t p;
	if (!parse_port(port, &p)) return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "address '%s': bad port", text);
	if (!strcmp(host, "localhost")) strcpy(host, "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(p);
		out->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(p);
		out->len = sizeof(*v6);
	} else
		return CV_FAIL(CV_ERROR_INVALID_ARGUMENT, "address '%s': '%s' is not a numeric IPv4 or IPv6 address", text,
		               host);
	return CV_OK;
}

void net_addr_format(const struct net_addr *a, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(v4->sin_port));
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(v6->sin6_port));
	} else
		snprintf(out, size, "?");
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family) return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss, *y = (const struct sockaddr_in *)&b->ss;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss, *y = (const struct sockaddr_in6 *)&b->ss;
		return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

bool net_ipv6_available(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0) return false;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

enum cv_result net_socket_open(const struct net_addr *bind_addr, int family, struct net_socket *out)
{
	out->fd = -1;
	struct net_addr a = {0};
	if (bind_addr) a = *bind_addr;
	else if (family == AF_INET6) {
		((struct sockaddr_in6 *)&a.ss)->sin6_family = AF_INET6;
		a.len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&a.ss)->sin_family = AF_INET;
		a.len = sizeof(struct sockaddr_in);
	}
	int fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) return CV_FAIL(CV_ERROR_IO, "UDP socket: %s", strerror(errno));
	int zero = 0, big = 1 << 21;
	/* One IPv6 socket serves IPv4 peers too, unless bound to a specific IPv6 address. */
	if (a.ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* Room for a burst of 32 participants' datagrams between two frames. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	/* Kernel receive times: arrival jitter measured where datagrams arrive, not where a frame loop drains them. */
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a.ss, a.len) != 0) {
		char text[80];
		net_addr_format(&a, text, sizeof(text));
		int e = errno;
		close(fd);
		return CV_FAIL(CV_ERROR_IO, "cannot bind UDP %s: %s", text, strerror(e));
	}
	out->fd = fd;
	out->family = a.ss.ss_family;
	out->local.len = sizeof(out->local.ss);
	getsockname(fd, (struct sockaddr *)&out->local.ss, &out->local.len);
	return CV_OK;
}

void net_socket_close(struct net_socket *s)
{
	if (s->fd >= 0) close(s->fd);
	s->fd = -1;
}

/* An IPv4 destination through an IPv6 socket: the v4-mapped form. */
static void to_family(const struct net_addr *in, int family, struct net_addr *out)
{
	*out = *in;
	if (family == AF_INET6 && in->ss.ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&in->ss;
		struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = v4->sin_port};
		v6.sin6_addr.s6_addr[10] = v6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6.sin6_addr.s6_addr[12], &v4->sin_addr, 4);
		memset(out, 0, sizeof(*out));
		memcpy(&out->ss, &v6, sizeof(v6));
		out->len = sizeof(v6);
	}
}

bool net_socket_send(struct net_socket *s, const struct net_addr *to, const void *data, size_t size)
{
	struct net_addr a;
	to_family(to, s->family, &a);
	ssize_t n = sendto(s->fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&a.ss, a.len);
	if (n == (ssize_t)size) return true;
	static int logged;
	/* A peer not listening yet gives ECONNREFUSED on loopback: loss, not an error. */
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED && !logged++) {
		char text[80];
		net_addr_format(to, text, sizeof(text));
		CV_WARN("net: sending to %s: %s", text, strerror(errno));
	}
	return false;
}

enum cv_result net_socket_recv(struct net_socket *s, void *buf, size_t capacity, size_t *size, struct net_addr *from,
                               int64_t *kernel_us)
{
	*size = 0;
	if (kernel_us) *kernel_us = 0;
	for (int tries = 0; tries < 64; tries++) { /* bounded: a flood of empty datagrams must not hold us here */
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct timespec))];
		} control;
		struct iovec iov = {.iov_base = buf, .iov_len = capacity};
		struct msghdr msg = {.msg_name = &from->ss, .msg_namelen = sizeof(from->ss), .msg_iov = &iov,
		                     .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
		ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
		if (n >= 0) {
			from->len = msg.msg_namelen;
			*size = (size_t)n > capacity ? capacity : (size_t)n;
			if (n == 0) continue; /* an empty datagram: nothing to do, look for the next */
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); kernel_us && c; c = CMSG_NXTHDR(&msg, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(c), sizeof(ts));
					*kernel_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
				}
			return CV_OK;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) return CV_OK;
		/* ICMP errors from earlier sends surface here on Linux: not ours to fail on. */
		if (errno == ECONNREFUSED || errno == EINTR || errno == EHOSTUNREACH || errno == ENETUNREACH) continue;
		return CV_FAIL(CV_ERROR_IO, "UDP receive: %s", strerror(errno));
	}
	return CV_OK;
}

int64_t net_realtime_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
