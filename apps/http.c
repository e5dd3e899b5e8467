/* HTTP/1.1 (RFC 9110, 9112), enough to serve static files: GET and HEAD,
 * persistent connections by default (Connection: close honoured; HTTP/1.0
 * only with Connection: keep-alive), pipelined requests answered in order.
 *
 * The service runs the TCP services' loop (svcloop.c): one thread, the
 * listener and every connection over ust_poll, a table that grows with
 * demand up to the service's connection limit, and a limit per client
 * address; a connection over either is answered 503 and closed.
 *
 * A connection holds buffers only while it needs them: the request data
 * (grown from 1 KiB up to HTTP_HDR_MAX while a header arrives, freed when
 * nothing of a request is left), and, while a response goes out, one buffer
 * that carries the response header with the start of the file behind it,
 * then the rest of the file, read() a chunk at a time as the socket accepts
 * it. A kept-alive connection waiting for its next request holds neither.
 *
 * Slow clients (slowloris and its kin) meet timeouts, each from a clock the
 * connection's state machine keeps (struct http_timer, unit-tested): the
 * header timeout (the request line and headers, from the connection or
 * from the first byte of a later request), the request timeout (the whole
 * request, its body included), the idle timeout (a kept-alive connection
 * with nothing of a next request) and the send timeout (a response the
 * peer takes nothing of). A request cut short by the header timeout is
 * answered 408.
 *
 * Nagle is off on connections (TCP_NODELAY), as nginx has it. Files are
 * opened by realpath() and served only if that lies under the root's
 * realpath. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "services.h"
#include "svcloop.h"

#define HTTP_IN_MIN 1024     /* the request buffer's first size */
#define HTTP_HDR_MAX 8192    /* request line and headers */
#define HTTP_TARGET_MAX 2048 /* longer targets: 414 */
#define HTTP_CHUNK 16384     /* the response buffer with a file: header, then file chunks */
#define HTTP_HEAD_MAX 512    /* a response header we write */
#define IO_ROUNDS 64         /* reads or writes per connection per wakeup */

static const char builtin_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>ustack</title></head>\n"
    "<body><h1>ustack</h1>\n"
    "<p>This page was served over a user-space TCP/IP stack.</p>\n"
    "<p>Run the runner with <code>--http-root DIR</code> to serve files.</p>\n"
    "</body></html>\n";

struct conn {
    struct svcloop_conn base;
    struct http_timer tm;
    char *in; /* request data read so far, or NULL */
    size_t in_len, in_cap;
    size_t scanned;             /* bytes of in[] already searched for the header's end */
    unsigned long long discard; /* request body bytes still to skip */
    bool eof;                   /* the peer sent FIN */
    bool active;                /* a response is being sent */
    bool close_after;           /* close once the response is sent */
    int file;                   /* the file being sent, or -1 */
    unsigned long long file_left;
    char *out; /* the response going out, or NULL */
    size_t out_len, out_off, out_cap;
};

struct request {
    char method[16];
    char target[HTTP_TARGET_MAX + 1];
    int minor; /* HTTP/1.minor */
    bool has_host;
    bool conn_close, conn_keep_alive;
    bool chunked;
    unsigned long long content_length;
};

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"},
        {"css", "text/css"},
        {"js", "text/javascript"},
        {"json", "application/json"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"svg", "image/svg+xml"},
    };
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Case-insensitive search for the token tok in a comma-separated list. */
static bool has_token(const char *list, const char *tok)
{
    size_t tl = strlen(tok);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - p) == tl && strncasecmp(p, tok, tl) == 0)
            return true;
        p = e;
    }
    return false;
}

/* Parses the request line and headers in buf[0..len) (lines end in CRLF or
 * LF, the header's end marker included). Returns 0 or the error status. */
static int parse_request(char *buf, size_t len, struct request *rq)
{
    memset(rq, 0, sizeof(*rq));
    char *end = buf + len;
    char *line = buf;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl)
        return 400;
    *nl = '\0';
    if (nl > line && nl[-1] == '\r')
        nl[-1] = '\0';
    /* METHOD SP target SP HTTP/1.x */
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line || (size_t)(sp1 - line) >= sizeof(rq->method))
        return 400;
    for (char *c = line; c < sp1; c++)
        if (!is_tchar(*c))
            return 400;
    memcpy(rq->method, line, (size_t)(sp1 - line));
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2 || sp2 == target)
        return 400;
    if ((size_t)(sp2 - target) > HTTP_TARGET_MAX)
        return 414;
    for (char *c = target; c < sp2; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return 400;
    memcpy(rq->target, target, (size_t)(sp2 - target));
    const char *ver = sp2 + 1;
    if (strncmp(ver, "HTTP/", 5) != 0 || !(ver[5] >= '0' && ver[5] <= '9') || ver[6] != '.' ||
        !(ver[7] >= '0' && ver[7] <= '9') || ver[8] != '\0')
        return 400;
    if (ver[5] != '1')
        return 505;
    rq->minor = ver[7] - '0';
    if (rq->target[0] != '/')
        return 400; /* origin-form only */
    /* Headers, up to the empty line. */
    for (line = nl + 1; line < end; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            return 400;
        *nl = '\0';
        if (nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        if (*line == '\0')
            break;
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return 400;
        for (char *c = line; c < colon; c++)
            if (!is_tchar(*c))
                return 400; /* also: whitespace before the colon, obs-fold */
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';
        if (strcasecmp(line, "Host") == 0) {
            if (rq->has_host)
                return 400;
            rq->has_host = true;
        } else if (strcasecmp(line, "Connection") == 0) {
            rq->conn_close |= has_token(v, "close");
            rq->conn_keep_alive |= has_token(v, "keep-alive");
        } else if (strcasecmp(line, "Content-Length") == 0) {
            char *e;
            errno = 0;
            unsigned long long n = strtoull(v, &e, 10);
            if (!*v || *e || errno || *v == '-' || *v == '+')
                return 400;
            rq->content_length = n;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            rq->chunked = true;
        }
    }
    if (rq->minor >= 1 && !rq->has_host)
        return 400;
    return 0;
}

/* Decodes %XX in place; -1 on a bad escape or a decoded NUL. */
static int percent_decode(char *p)
{
    char *w = p;
    for (char *r = p; *r; r++) {
        if (*r == '%') {
            char hex[3] = {r[1], r[1] ? r[2] : '\0', '\0'};
            char *e;
            if (!hex[0] || !hex[1] || !strchr("0123456789abcdefABCDEF", hex[0]) ||
                !strchr("0123456789abcdefABCDEF", hex[1]))
                return -1;
            long v = strtol(hex, &e, 16);
            if (v == 0)
                return -1;
            *w++ = (char)v;
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 0;
}

/* Opens the file the decoded path names under the root. Returns the fd
 * (and its size and the resolved name), or -status. */
static int open_under_root(const char *root, const char *path, unsigned long long *size,
                           char *resolved)
{
    /* No ".." segment, however it was spelled. */
    for (const char *seg = path; seg; seg = strchr(seg, '/')) {
        while (*seg == '/')
            seg++;
        if (strncmp(seg, "..", 2) == 0 && (seg[2] == '/' || seg[2] == '\0'))
            return -404;
        if (!*seg)
            break;
    }
    char joined[PATH_MAX];
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): path is an array */
    size_t pl = strlen(path);
    int n = snprintf(joined, sizeof(joined), "%s%s%s", root, path,
                     pl > 0 && path[pl - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof(joined))
        return -414;
    size_t rl = strlen(root);
    for (int tries = 0; tries < 2; tries++) {
        if (!realpath(joined, resolved))
            return errno == ENAMETOOLONG ? -414 : -404;
        /* Never outside the root: resolved must be root or under root/. */
        if (strncmp(resolved, root, rl) != 0 || (resolved[rl] != '/' && resolved[rl] != '\0'))
            return -404;
        int fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            return errno == EACCES ? -403 : -404;
        struct stat st;
        if (fstat(fd, &st) != 0) {
            close(fd);
            return -500;
        }
        if (S_ISREG(st.st_mode)) {
            int fl = fcntl(fd, F_GETFL);
            if (fl >= 0)
                fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
            *size = (unsigned long long)st.st_size;
            return fd;
        }
        close(fd);
        if (!S_ISDIR(st.st_mode) || tries > 0)
            return -404;
        /* A directory: its index.html. */
        n = snprintf(joined, sizeof(joined), "%s/index.html", resolved);
        if (n < 0 || (size_t)n >= sizeof(joined))
            return -414;
    }
    return -404;
}

/* ---- the timeouts ---- */

void http_timer_open(struct http_timer *t, ust_time_t now)
{
    *t = (struct http_timer){.wait = HTTP_WAIT_HEADER, .req_start = now};
}

void http_timer_input(struct http_timer *t, ust_time_t now)
{
    if (t->wait == HTTP_WAIT_IDLE) /* the first byte of the next request */
        *t = (struct http_timer){.wait = HTTP_WAIT_HEADER, .req_start = now};
}

void http_timer_respond(struct http_timer *t, ust_time_t now, bool body_left)
{
    t->wait = HTTP_WAIT_RESPONSE;
    t->since = now;
    t->body_left = body_left;
}

void http_timer_sent(struct http_timer *t, ust_time_t now)
{
    if (t->wait == HTTP_WAIT_RESPONSE)
        t->since = now;
}

/* The request and its response are both over: wait for the next one, whose
 * clock starts now if its bytes are already here (pipelined). */
static void timer_next(struct http_timer *t, ust_time_t now, bool buffered)
{
    if (buffered)
        *t = (struct http_timer){.wait = HTTP_WAIT_HEADER, .req_start = now};
    else
        *t = (struct http_timer){.wait = HTTP_WAIT_IDLE, .since = now};
}

void http_timer_response_done(struct http_timer *t, ust_time_t now, bool buffered)
{
    if (t->body_left)
        t->wait = HTTP_WAIT_BODY;
    else
        timer_next(t, now, buffered);
}

void http_timer_body_done(struct http_timer *t, ust_time_t now, bool buffered)
{
    t->body_left = false;
    if (t->wait == HTTP_WAIT_BODY)
        timer_next(t, now, buffered);
}

ust_time_t http_timer_deadline(const struct http_timer *t, const struct svc_limits *lim,
                               enum http_timeout *which)
{
    ust_time_t best = 0;
    enum http_timeout w = HTTP_TIMEOUT_NONE;
#define CONSIDER(timeout, from, kind)                                                              \
    do {                                                                                           \
        if ((timeout) && (!best || (from) + (timeout) < best)) {                                   \
            best = (from) + (timeout);                                                             \
            w = (kind);                                                                            \
        }                                                                                          \
    } while (0)
    switch (t->wait) {
    case HTTP_WAIT_HEADER:
        CONSIDER(lim->header_timeout, t->req_start, HTTP_TIMEOUT_HEADER);
        CONSIDER(lim->request_timeout, t->req_start, HTTP_TIMEOUT_REQUEST);
        break;
    case HTTP_WAIT_RESPONSE:
        CONSIDER(lim->send_timeout, t->since, HTTP_TIMEOUT_SEND);
        if (t->body_left)
            CONSIDER(lim->request_timeout, t->req_start, HTTP_TIMEOUT_REQUEST);
        break;
    case HTTP_WAIT_BODY: CONSIDER(lim->request_timeout, t->req_start, HTTP_TIMEOUT_REQUEST); break;
    case HTTP_WAIT_IDLE: CONSIDER(lim->idle_timeout, t->since, HTTP_TIMEOUT_IDLE); break;
    }
#undef CONSIDER
    if (which)
        *which = w;
    return best;
}

/* ---- responses ---- */

/* Starts the response: its header (and a small body) into a buffer of its
 * own, large enough for file chunks if a file follows. false: no memory. */
static bool respond(struct conn *c, int status, bool head_only, const char *type,
                    unsigned long long length, const char *body, bool allow, bool file)
{
    char hdr[HTTP_HEAD_MAX];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.1 %d %s\r\n"
                     "Server: ustack\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %llu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     status, reason(status), type, length, allow ? "Allow: GET, HEAD\r\n" : "",
                     c->close_after ? "close" : "keep-alive");
    size_t hl = n > 0 && (size_t)n < sizeof(hdr) ? (size_t)n : 0;
    size_t bl = body && !head_only ? (size_t)length : 0;
    size_t cap = file ? HTTP_CHUNK : hl + bl;
    if (!hl || cap < hl + bl || !(c->out = malloc(cap)))
        return false;
    memcpy(c->out, hdr, hl);
    if (bl)
        memcpy(c->out + hl, body, bl);
    c->out_cap = cap;
    c->out_len = hl + bl;
    c->out_off = 0;
    c->active = true;
    return true;
}

static bool respond_error(struct conn *c, int status, bool head_only, bool allow)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    return respond(c, status, head_only, "text/plain; charset=utf-8", (unsigned long long)n, body,
                   allow, false);
}

/* Handles the request in c->in[0..hlen); sets up the response. false: out
 * of memory. */
static bool handle(struct svcloop *l, struct conn *c, size_t hlen)
{
    struct service *svc = svcloop_service(l);
    const char *who = svcloop_peer(l, &c->base);
    struct request rq;
    int status = parse_request(c->in, hlen, &rq);
    bool head = status == 0 && strcmp(rq.method, "HEAD") == 0;
    if (status != 0) {
        c->close_after = true; /* we cannot tell where the next request starts */
        app_logf(UST_LOG_DEBUG, "%s: %s: malformed request -> %d", svc->name, who, status);
        return respond_error(c, status, false, false);
    }
    bool keep = rq.minor >= 1 ? !rq.conn_close : (rq.conn_keep_alive && !rq.conn_close);
    if (rq.chunked)
        keep = false; /* a body we will not parse: close after the answer */
    c->close_after = !keep;
    c->discard = rq.content_length;
    if (!head && strcmp(rq.method, "GET") != 0) {
        app_logf(UST_LOG_DEBUG, "%s: %s: %s %s -> 405", svc->name, who, rq.method, rq.target);
        return respond_error(c, 405, false, true);
    }
    char path[HTTP_TARGET_MAX + 1];
    memcpy(path, rq.target, sizeof(path));
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    if (percent_decode(path) != 0) {
        app_logf(UST_LOG_DEBUG, "%s: %s: %s %s -> 400", svc->name, who, rq.method, rq.target);
        return respond_error(c, 400, head, false);
    }
    if (!svc->http_root_real) {
        bool ok;
        if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
            ok = respond(c, 200, head, "text/html; charset=utf-8", sizeof(builtin_page) - 1,
                         builtin_page, false, false);
            status = 200;
        } else {
            ok = respond_error(c, 404, head, false);
            status = 404;
        }
        app_logf(UST_LOG_DEBUG, "%s: %s: %s %s -> %d", svc->name, who, rq.method, rq.target,
                 status);
        return ok;
    }
    char resolved[PATH_MAX];
    unsigned long long size = 0;
    int fd = open_under_root(svc->http_root_real, path, &size, resolved);
    if (fd < 0) {
        app_logf(UST_LOG_DEBUG, "%s: %s: %s %s -> %d", svc->name, who, rq.method, rq.target, -fd);
        return respond_error(c, -fd, head, false);
    }
    bool body = !head && size > 0;
    if (!respond(c, 200, head, content_type(resolved), size, NULL, false, body)) {
        close(fd);
        return false;
    }
    if (body) {
        c->file = fd;
        c->file_left = size;
    } else {
        close(fd);
    }
    app_logf(UST_LOG_DEBUG, "%s: %s: %s %s -> 200 (%llu bytes)", svc->name, who, rq.method,
             rq.target, size);
    return true;
}

/* Where the request header in c->in ends (just past the empty line), or 0.
 * Only the bytes not searched before are (a header that trickles in a byte
 * at a time costs its length, not its length squared). */
static size_t header_end(struct conn *c)
{
    size_t i = c->scanned > 2 ? c->scanned - 2 : 0;
    for (; i < c->in_len; i++) {
        if (c->in[i] != '\n')
            continue;
        if (i + 1 < c->in_len && c->in[i + 1] == '\n')
            return i + 2;
        if (i + 2 < c->in_len && c->in[i + 1] == '\r' && c->in[i + 2] == '\n')
            return i + 3;
    }
    c->scanned = c->in_len;
    return 0;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
    c->scanned = 0;
}

/* Drops request body bytes, and blank lines between requests. */
static void skip_filler(struct conn *c)
{
    if (c->discard > 0) {
        size_t n = c->discard < c->in_len ? (size_t)c->discard : c->in_len;
        consume(c, n);
        c->discard -= n;
    }
    if (c->discard == 0) {
        size_t n = 0;
        while (n < c->in_len && (c->in[n] == '\r' || c->in[n] == '\n'))
            n++;
        if (n)
            consume(c, n);
    }
}

static void end_response(struct conn *c)
{
    if (c->file >= 0)
        close(c->file);
    c->file = -1;
    c->file_left = 0;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = c->out_cap = 0;
    c->active = false;
}

/* Room for the next read: the request buffer grows from HTTP_IN_MIN to
 * HTTP_HDR_MAX as a header needs it. 0 when full (or out of memory). */
static size_t in_room(struct conn *c)
{
    if (c->in_len == c->in_cap && c->in_cap < HTTP_HDR_MAX) {
        size_t cap = c->in_cap ? c->in_cap * 2 : HTTP_IN_MIN;
        char *in = realloc(c->in, cap);
        if (in) {
            c->in = in;
            c->in_cap = cap;
        }
    }
    return c->in_cap - c->in_len;
}

/* Reads what has arrived (up to what the buffer may hold). false: the
 * connection failed. */
static bool read_in(struct ust_stack *s, struct conn *c, bool *progress, ust_time_t now)
{
    size_t room = in_room(c);
    if (c->eof || room == 0)
        return true;
    ssize_t r = ust_recv(s, c->base.fd, c->in + c->in_len, room, 0);
    if (r == 0) {
        c->eof = true;
    } else if (r < 0) {
        return errno == EAGAIN;
    } else {
        c->in_len += (size_t)r;
        http_timer_input(&c->tm, now);
        *progress = true;
    }
    return true;
}

/* Sends what the response buffer holds, after filling it from the file.
 * false: the connection failed. */
static bool write_out(struct ust_stack *s, struct conn *c, bool *progress, ust_time_t now)
{
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    /* Fill the buffer from the file behind what it holds, so the first
     * chunk leaves with the response header: a small file goes out in one
     * segment, not a header segment that Nagle sends alone and a body
     * segment held until the header is acknowledged (a delayed ACK: 40 ms
     * a request). */
    if (c->file_left > 0 && c->out_len < c->out_cap) {
        size_t room = c->out_cap - c->out_len;
        size_t want = c->file_left < room ? (size_t)c->file_left : room;
        ssize_t r = read(c->file, c->out + c->out_len, want);
        if (r <= 0) {
            app_logf(UST_LOG_WARN, "http: reading a file: %s",
                     r < 0 ? strerror(errno) : "it shrank while being sent");
            return false;
        }
        c->out_len += (size_t)r;
        c->file_left -= (unsigned long long)r;
    }
    if (c->out_off < c->out_len) {
        /* The last bytes before a close wait for the FIN (MSG_MORE): one
         * segment, so the client reads the end of the response and the end
         * of the stream together and does not close first (it would keep
         * the TIME-WAIT, which piles up in a client making a connection per
         * request). */
        int more = c->close_after && c->file_left == 0 ? MSG_MORE : 0;
        ssize_t w = ust_send(s, c->base.fd, c->out + c->out_off, c->out_len - c->out_off,
                             MSG_NOSIGNAL | more);
        if (w < 0 && errno != EAGAIN)
            return false;
        if (w > 0) {
            c->out_off += (size_t)w;
            http_timer_sent(&c->tm, now);
            *progress = true;
        }
    }
    return true;
}

static void set_deadline(struct svcloop *l, struct conn *c)
{
    c->base.deadline = http_timer_deadline(&c->tm, &svcloop_service(l)->lim, NULL);
}

/* Serves one readiness event. */
static enum svcloop_verdict serve(struct svcloop *l, struct svcloop_conn *base, short revents,
                                  ust_time_t now)
{
    struct ust_stack *s = svcloop_service(l)->s;
    struct conn *c = (struct conn *)base;
    if (revents & (POLLERR | POLLNVAL))
        return SVL_CLOSE;
    for (int rounds = 0; rounds < IO_ROUNDS; rounds++) {
        bool progress = false;
        if (!read_in(s, c, &progress, now))
            return SVL_CLOSE;
        if (!c->active) {
            bool body_left = c->discard > 0;
            skip_filler(c);
            if (body_left && c->discard == 0)
                http_timer_body_done(&c->tm, now, c->in_len > 0);
            if (c->discard == 0) {
                size_t hlen = header_end(c);
                if (hlen) {
                    if (!handle(l, c, hlen))
                        return SVL_RESET; /* out of memory */
                    consume(c, hlen);
                    http_timer_respond(&c->tm, now, c->discard > 0);
                    progress = true;
                } else if (c->in_len >= HTTP_HDR_MAX) {
                    c->close_after = true;
                    app_logf(UST_LOG_DEBUG, "%s: %s: request header over %d bytes -> 400",
                             svcloop_service(l)->name, svcloop_peer(l, base), HTTP_HDR_MAX);
                    if (!respond_error(c, 400, false, false))
                        return SVL_RESET;
                    c->in_len = 0;
                    http_timer_respond(&c->tm, now, false);
                    progress = true;
                }
            }
            if (!c->active && c->eof)
                return SVL_CLOSE; /* nothing (complete) left to answer */
        }
        if (c->active) {
            if (!write_out(s, c, &progress, now))
                return SVL_CLOSE;
            if (c->out_off == c->out_len && c->file_left == 0) {
                end_response(c);
                progress = true;
                /* Send FIN, then read until the peer closes: closing with
                 * unread data would answer with a RST. */
                if (c->close_after)
                    return c->eof ? SVL_CLOSE : SVL_LINGER;
                skip_filler(c);
                if (c->discard == 0)
                    http_timer_body_done(&c->tm, now, c->in_len > 0);
                http_timer_response_done(&c->tm, now, c->in_len > 0);
            }
        }
        if (!progress)
            break;
    }
    if (c->in_len == 0 && c->in) { /* nothing of a request held: no buffer */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    set_deadline(l, c);
    return SVL_KEEP;
}

static short conn_events(const struct svcloop *l, const struct svcloop_conn *base)
{
    (void)l;
    const struct conn *c = (const struct conn *)base;
    short ev = 0;
    if (!c->eof && (c->in_len < HTTP_HDR_MAX))
        ev |= POLLIN;
    if (c->active)
        ev |= POLLOUT;
    return ev;
}

static enum svcloop_verdict conn_open(struct svcloop *l, struct svcloop_conn *base, ust_time_t now)
{
    struct conn *c = (struct conn *)base;
    /* No Nagle (nginx's tcp_nodelay): the short last segment of a response
     * must not wait for the ACK of the segments before it, which a client
     * delays by up to 40 ms when it has an odd number of them to
     * acknowledge. */
    int one = 1;
    ust_setsockopt(svcloop_service(l)->s, base->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->file = -1;
    http_timer_open(&c->tm, now);
    set_deadline(l, c);
    return SVL_KEEP;
}

static enum svcloop_verdict conn_expire(struct svcloop *l, struct svcloop_conn *base,
                                        ust_time_t now)
{
    struct service *svc = svcloop_service(l);
    struct conn *c = (struct conn *)base;
    enum http_timeout which;
    ust_time_t d = http_timer_deadline(&c->tm, &svc->lim, &which);
    if (!d || now < d) { /* not due after all (a timer moved): wait again */
        c->base.deadline = d;
        return SVL_KEEP;
    }
    static const struct {
        enum svc_counter counter;
        const char *what;
    } kinds[] = {
        [HTTP_TIMEOUT_NONE] = {SVC_TIMEOUT_IDLE, ""},
        [HTTP_TIMEOUT_HEADER] = {SVC_TIMEOUT_HEADER, "header timeout"},
        [HTTP_TIMEOUT_REQUEST] = {SVC_TIMEOUT_REQUEST, "request timeout"},
        [HTTP_TIMEOUT_IDLE] = {SVC_TIMEOUT_IDLE, "idle timeout"},
        [HTTP_TIMEOUT_SEND] = {SVC_TIMEOUT_SEND, "send timeout"},
    };
    svc_count(svc, kinds[which].counter, 1);
    /* A request cut short is told so (408), then the connection closes
     * gracefully; nothing else has anything left to say. */
    bool partial = which == HTTP_TIMEOUT_HEADER && c->in_len > 0;
    app_logf(UST_LOG_DEBUG, "%s: %s: %s%s", svc->name, svcloop_peer(l, base), kinds[which].what,
             partial ? " with a partial request -> 408" : ": closed");
    if (partial) {
        static const char msg[] = "HTTP/1.1 408 Request Timeout\r\n"
                                  "Server: ustack\r\n"
                                  "Content-Length: 0\r\n"
                                  "Connection: close\r\n"
                                  "\r\n";
        ust_send(svc->s, base->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        return SVL_LINGER;
    }
    /* A response the peer would not take, or a body it would not finish:
     * a RST frees what the stack holds for it at once. */
    return which == HTTP_TIMEOUT_SEND || which == HTTP_TIMEOUT_REQUEST ? SVL_RESET : SVL_CLOSE;
}

static void conn_release(struct svcloop *l, struct svcloop_conn *base)
{
    (void)l;
    struct conn *c = (struct conn *)base;
    end_response(c);
    free(c->in);
}

/* Over a limit: 503, then the connection lingers (svcloop) until the
 * client has read it and closed. */
static void conn_refuse(struct svcloop *l, int fd, ust_time_t now)
{
    (void)now;
    static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Server: ustack\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: 24\r\n"
                              "Connection: close\r\n"
                              "\r\n"
                              "503 Service Unavailable\n";
    ust_send(svcloop_service(l)->s, fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static const struct svcloop_ops http_loop_ops = {
    .conn_size = sizeof(struct conn),
    .open = conn_open,
    .events = conn_events,
    .serve = serve,
    .expire = conn_expire,
    .release = conn_release,
    .refuse = conn_refuse,
};

const struct svcloop_ops *http_ops(void) { return &http_loop_ops; }

void *http_main(void *arg)
{
    svcloop_run(arg, &http_loop_ops, NULL);
    return NULL;
}

int http_init(struct service *svc)
{
    svc->http_root_real = NULL;
    if (!svc->http_root)
        return 0;
    char *r = realpath(svc->http_root, NULL);
    struct stat st;
    if (!r || stat(r, &st) != 0 || !S_ISDIR(st.st_mode)) {
        app_logf(UST_LOG_ERROR, "--http-root %s: %s", svc->http_root,
                 r ? "not a directory" : strerror(errno));
        free(r);
        return -1;
    }
    if (strcmp(r, "/") == 0)
        r[0] = '\0'; /* the prefix check then accepts any "/..." */
    svc->http_root_real = r;
    app_logf(UST_LOG_INFO, "service %s: serving files from %s", svc->name, svc->http_root);
    return 0;
}

void http_fini(struct service *svc)
{
    free(svc->http_root_real);
    svc->http_root_real = NULL;
}
