/* HTTP/1.1 (RFC 9110, 9112), enough to serve static files: GET and HEAD,
 * persistent connections by default (Connection: close honoured; HTTP/1.0
 * only with Connection: keep-alive), pipelined requests answered in order.
 *
 * One thread multiplexes the listener and every connection with ust_poll,
 * as the TCP services do. Each connection has two fixed buffers: the request
 * header (at most HTTP_HDR_MAX bytes) and one chunk buffer that carries the
 * response header with the start of the file behind it, then the rest of the
 * file, read() a chunk at a time as the socket accepts it. Nagle is off on
 * connections (TCP_NODELAY), as nginx has it. Files are opened by realpath() and served only if that lies
 * under the root's realpath. */
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

#define HTTP_MAX_CONNS 512
#define HTTP_HDR_MAX 8192    /* request line and headers */
#define HTTP_TARGET_MAX 2048 /* longer targets: 414 */
#define HTTP_CHUNK 16384     /* the response buffer: header, then file chunks */

static const char builtin_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>ustack</title></head>\n"
    "<body><h1>ustack</h1>\n"
    "<p>This page was served over a user-space TCP/IP stack.</p>\n"
    "<p>Run the runner with <code>--http-root DIR</code> to serve files.</p>\n"
    "</body></html>\n";

struct conn {
    int fd;
    size_t in_len;          /* bytes of request data in in[] */
    size_t discard;         /* request body bytes still to skip */
    bool eof;               /* the peer sent FIN */
    bool active;            /* a response is being sent */
    bool close_after;       /* close once the response is sent */
    bool draining;          /* FIN sent: reading until the peer closes */
    int file;               /* the file being sent, or -1 */
    unsigned long long file_left;
    size_t out_len, out_off;
    char in[HTTP_HDR_MAX];
    char out[HTTP_CHUNK];
};

struct request {
    char method[16];
    char target[HTTP_TARGET_MAX + 1];
    int minor;              /* HTTP/1.minor */
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
    case 414: return "URI Too Long";
    case 500: return "Internal Server Error";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"txt", "text/plain; charset=utf-8"}, {"css", "text/css"},
        {"js", "text/javascript"},            {"json", "application/json"},
        {"png", "image/png"},                 {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},               {"svg", "image/svg+xml"},
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

/* Starts the response: the header (and a small body) into c->out. */
static void respond(struct conn *c, int status, bool head_only, const char *type,
                    unsigned long long length, const char *body, bool allow)
{
    int n = snprintf(c->out, sizeof(c->out),
                     "HTTP/1.1 %d %s\r\n"
                     "Server: ustack\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %llu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     status, reason(status), type, length, allow ? "Allow: GET, HEAD\r\n" : "",
                     c->close_after ? "close" : "keep-alive");
    c->out_len = (size_t)n;
    c->out_off = 0;
    if (body && !head_only && c->out_len + length <= sizeof(c->out)) {
        memcpy(c->out + c->out_len, body, (size_t)length);
        c->out_len += (size_t)length;
    }
    c->active = true;
}

static void respond_error(struct conn *c, int status, bool head_only, bool allow)
{
    char body[64];
    int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    respond(c, status, head_only, "text/plain; charset=utf-8", (unsigned long long)n, body, allow);
}

/* Handles the request in c->in[0..hlen); sets up the response. */
static void handle(struct service *svc, struct conn *c, size_t hlen)
{
    struct request rq;
    int status = parse_request(c->in, hlen, &rq);
    bool head = status == 0 && strcmp(rq.method, "HEAD") == 0;
    if (status != 0) {
        c->close_after = true; /* we cannot tell where the next request starts */
        respond_error(c, status, false, false);
        app_logf(UST_LOG_DEBUG, "http: malformed request -> %d", status);
        return;
    }
    bool keep = rq.minor >= 1 ? !rq.conn_close : (rq.conn_keep_alive && !rq.conn_close);
    if (rq.chunked)
        keep = false; /* a body we will not parse: close after the answer */
    c->close_after = !keep;
    c->discard = rq.content_length;
    if (!head && strcmp(rq.method, "GET") != 0) {
        respond_error(c, 405, false, true);
        app_logf(UST_LOG_DEBUG, "http: %s %s -> 405", rq.method, rq.target);
        return;
    }
    char path[HTTP_TARGET_MAX + 1];
    memcpy(path, rq.target, sizeof(path));
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    if (percent_decode(path) != 0) {
        respond_error(c, 400, head, false);
        app_logf(UST_LOG_DEBUG, "http: %s %s -> 400", rq.method, rq.target);
        return;
    }
    if (!svc->http_root_real) {
        if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
            respond(c, 200, head, "text/html; charset=utf-8", sizeof(builtin_page) - 1,
                    builtin_page, false);
            status = 200;
        } else {
            respond_error(c, 404, head, false);
            status = 404;
        }
        app_logf(UST_LOG_DEBUG, "http: %s %s -> %d", rq.method, rq.target, status);
        return;
    }
    char resolved[PATH_MAX];
    unsigned long long size = 0;
    int fd = open_under_root(svc->http_root_real, path, &size, resolved);
    if (fd < 0) {
        respond_error(c, -fd, head, false);
        app_logf(UST_LOG_DEBUG, "http: %s %s -> %d", rq.method, rq.target, -fd);
        return;
    }
    respond(c, 200, head, content_type(resolved), size, NULL, false);
    if (head || size == 0) {
        close(fd);
    } else {
        c->file = fd;
        c->file_left = size;
    }
    app_logf(UST_LOG_DEBUG, "http: %s %s -> 200 (%llu bytes)", rq.method, rq.target, size);
}

/* Where the request header in c->in ends (just past the empty line), or 0. */
static size_t header_end(const struct conn *c)
{
    for (size_t i = 0; i < c->in_len; i++) {
        if (c->in[i] != '\n')
            continue;
        if (i + 1 < c->in_len && c->in[i + 1] == '\n')
            return i + 2;
        if (i + 2 < c->in_len && c->in[i + 1] == '\r' && c->in[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static void consume(struct conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
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

static void end_file(struct conn *c)
{
    if (c->file >= 0)
        close(c->file);
    c->file = -1;
    c->file_left = 0;
}

/* Serves one readiness event; false when the connection is done. */
static bool serve(struct service *svc, struct conn *c, short revents)
{
    struct ust_stack *s = svc->s;
    if (revents & (POLLERR | POLLNVAL))
        return false;
    for (int rounds = 0; rounds < 64; rounds++) {
        bool progress = false;
        if (c->draining) {
            char tmp[1024];
            ssize_t r = ust_recv(s, c->fd, tmp, sizeof(tmp), 0);
            if (r > 0)
                continue;
            return r < 0 && errno == EAGAIN; /* EOF or an error: done */
        }
        if (!c->eof && c->in_len < sizeof(c->in)) {
            ssize_t r = ust_recv(s, c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
            if (r == 0)
                c->eof = true;
            else if (r < 0 && errno != EAGAIN)
                return false;
            else if (r > 0) {
                c->in_len += (size_t)r;
                progress = true;
            }
        }
        if (!c->active) {
            skip_filler(c);
            if (c->discard == 0) {
                size_t hlen = header_end(c);
                if (hlen) {
                    handle(svc, c, hlen);
                    consume(c, hlen);
                    progress = true;
                } else if (c->in_len >= sizeof(c->in)) {
                    c->close_after = true;
                    respond_error(c, 400, false, false);
                    app_logf(UST_LOG_DEBUG, "http: request header over %d bytes -> 400",
                             HTTP_HDR_MAX);
                    c->in_len = 0;
                    progress = true;
                }
            }
            if (!c->active && c->eof)
                return false; /* nothing (complete) left to answer */
        }
        if (c->active) {
            if (c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
            /* Fill the buffer from the file behind what it holds, so the
             * first chunk leaves with the response header: a small file
             * goes out in one segment, not a header segment that Nagle
             * sends alone and a body segment held until the header is
             * acknowledged (a delayed ACK: 40 ms a request). */
            if (c->file_left > 0 && c->out_len < sizeof(c->out)) {
                size_t room = sizeof(c->out) - c->out_len;
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
                /* The last bytes before a close wait for the FIN (MSG_MORE):
                 * one segment, so the client reads the end of the response
                 * and the end of the stream together and does not close
                 * first (it would keep the TIME-WAIT, which piles up in a
                 * client making a connection per request). */
                int more = c->close_after && c->file_left == 0 ? MSG_MORE : 0;
                ssize_t w = ust_send(s, c->fd, c->out + c->out_off, c->out_len - c->out_off,
                                     MSG_NOSIGNAL | more);
                if (w < 0 && errno != EAGAIN)
                    return false;
                if (w > 0) {
                    c->out_off += (size_t)w;
                    progress = true;
                }
            }
            if (c->out_off == c->out_len && c->file_left == 0) {
                end_file(c);
                c->active = false;
                c->out_len = c->out_off = 0;
                progress = true;
                if (c->close_after) {
                    /* Send FIN, then read until the peer closes: closing
                     * with unread data would answer with a RST. */
                    if (c->eof || ust_shutdown(s, c->fd, SHUT_WR) < 0)
                        return false;
                    c->draining = true;
                }
            }
        }
        if (!progress)
            break;
    }
    return true;
}

static short conn_events(const struct conn *c)
{
    if (c->draining)
        return POLLIN;
    short ev = 0;
    if (!c->eof && c->in_len < sizeof(c->in))
        ev |= POLLIN;
    if (c->active)
        ev |= POLLOUT;
    return ev;
}

static void conn_free(struct ust_stack *s, struct conn *c)
{
    ust_close(s, c->fd);
    end_file(c);
    free(c);
}

void *http_main(void *arg)
{
    struct service *svc = arg;
    struct ust_stack *s = svc->s;
    struct conn **cl = calloc(HTTP_MAX_CONNS, sizeof(*cl));
    struct pollfd *pfd = calloc(HTTP_MAX_CONNS + 1, sizeof(*pfd));
    size_t n = 0;
    if (!cl || !pfd)
        goto out;
    for (;;) {
        pfd[0] = (struct pollfd){.fd = svc->fd, .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            pfd[i + 1] = (struct pollfd){.fd = cl[i]->fd, .events = conn_events(cl[i])};
        if (ust_poll(s, pfd, n + 1, -1) < 0)
            break;
        if (pfd[0].revents & POLLNVAL)
            break; /* the listener was closed: shutting down */
        for (size_t i = n; i-- > 0;) {
            if (!pfd[i + 1].revents)
                continue;
            if (!serve(svc, cl[i], pfd[i + 1].revents)) {
                conn_free(s, cl[i]);
                cl[i] = cl[--n];
            }
        }
        if (pfd[0].revents & POLLIN) {
            for (;;) {
                int fd = ust_accept4(s, svc->fd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                struct conn *c = n < HTTP_MAX_CONNS ? malloc(sizeof(*c)) : NULL;
                if (!c) {
                    app_logf(UST_LOG_WARN, "http: %s, refusing a connection",
                             n < HTTP_MAX_CONNS ? "out of memory" : "too many connections");
                    ust_close(s, fd);
                    continue;
                }
                memset(c, 0, offsetof(struct conn, in));
                /* No Nagle (nginx's tcp_nodelay): the short last segment of
                 * a response must not wait for the ACK of the segments
                 * before it, which a client delays by up to 40 ms when it
                 * has an odd number of them to acknowledge. */
                int one = 1;
                ust_setsockopt(s, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                c->fd = fd;
                c->file = -1;
                cl[n++] = c;
            }
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        conn_free(s, cl[i]);
    free(cl);
    free(pfd);
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
