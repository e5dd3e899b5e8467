#!/usr/bin/env bash
# http: the kernel's curl (and raw requests from python3) against the
# runner's HTTP/1.1 service on port 80.
#  - with --http-root (index.html, a 5 MB random file, a subdirectory): "/"
#    and the big file arrive byte-exact (sha256), with the right
#    Content-Type; HEAD gives the Content-Length and no body;
#  - 404 for a missing file, 405 with "Allow: GET, HEAD" for POST, 400 for a
#    garbage request line, a missing Host, a header over 8 KiB; 414 for an
#    over-long target;
#  - path traversal (.., %2e%2e, a symlink out of the root) never serves
#    anything outside the root;
#  - keep-alive: curl fetching two URLs reuses one connection
#    (tcp.passive_opens grows by 1); pipelined requests answered in order;
#    Connection: close and HTTP/1.0 close the connection;
#  - without --http-root, the built-in page at "/" and 404 elsewhere.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
# shellcheck source=holders.sh
source "$(dirname "$0")/holders.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd curl
need_ustack
ns_setup

URL=http://$USTACK_ADDR
ROOT=$WORK/root
mkdir -p "$ROOT/sub"
printf '<!DOCTYPE html>\n<html><body><h1>ustack test root</h1></body></html>\n' >"$ROOT/index.html"
printf 'sub index\n' >"$ROOT/sub/index.html"
printf 'plain text\n' >"$ROOT/sub/page.txt"
printf 'body { color: red; }\n' >"$ROOT/style.css"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$ROOT/big.bin"
SECRET_MARK="outside-the-root-$$"
echo "$SECRET_MARK" >"$WORK/secret.txt"
ln -s ../secret.txt "$ROOT/link.txt"

# fetch PATH [curl args...]: GET into $WORK/body, headers into $WORK/hdr;
# prints the status code.
fetch() {
    local path=$1
    shift
    in_ns curl -sS --max-time 30 --path-as-is -o "$WORK/body" -D "$WORK/hdr" \
        -w '%{http_code}' "$@" "$URL$path"
}

# raw: send stdin as is to port 80, then (unless NOSHUT=1) shut down the
# sending side; print everything received until the server closes.
raw() {
    in_ns env NOSHUT="${NOSHUT:-0}" "$PY" -c '
import os, socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=20)
s.sendall(sys.stdin.buffer.read())
if os.environ["NOSHUT"] != "1":
    s.shutdown(socket.SHUT_WR)
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.buffer.write(out)
' "$USTACK_ADDR"
}

# header NAME: the value of a header in $WORK/hdr (CR stripped).
header() {
    grep -i "^$1:" "$WORK/hdr" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

start_ustack --http-root "$ROOT"

# ---- files ----
assert_eq "GET / status" "$(fetch /)" 200
assert "GET / is index.html, byte-exact" cmp -s "$WORK/body" "$ROOT/index.html"
assert_eq "GET / Content-Type" "$(header Content-Type)" "text/html; charset=utf-8"
assert_eq "GET / Content-Length" "$(header Content-Length)" "$(stat -c %s "$ROOT/index.html")"

assert_eq "GET /big.bin status" "$(fetch /big.bin)" 200
assert_eq "GET /big.bin sha256" "$(sha256sum <"$WORK/body" | cut -c1-64)" \
    "$(sha256sum <"$ROOT/big.bin" | cut -c1-64)"
assert_eq "GET /big.bin Content-Length" "$(header Content-Length)" $((5 * 1024 * 1024))
assert_eq "GET /big.bin Content-Type" "$(header Content-Type)" application/octet-stream

assert_eq "GET /style.css status" "$(fetch /style.css)" 200
assert_eq "GET /style.css Content-Type" "$(header Content-Type)" text/css
assert_eq "GET /sub/page.txt status" "$(fetch /sub/page.txt)" 200
assert_eq "GET /sub/page.txt Content-Type" "$(header Content-Type)" "text/plain; charset=utf-8"
assert "GET /sub/page.txt body" cmp -s "$WORK/body" "$ROOT/sub/page.txt"
assert_eq "GET /sub/ status" "$(fetch /sub/)" 200
assert "GET /sub/ is sub/index.html" cmp -s "$WORK/body" "$ROOT/sub/index.html"
assert_eq "GET /sub (a directory) status" "$(fetch /sub)" 200
assert "GET /sub is sub/index.html" cmp -s "$WORK/body" "$ROOT/sub/index.html"
assert_eq "GET /sub/page%2etxt (percent-decoded) status" "$(fetch /sub/page%2etxt)" 200

# HEAD: Content-Length of the file, and no body (raw, to see every byte).
printf 'HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw >"$WORK/head.out"
assert "HEAD /big.bin: 200" grep -q $'^HTTP/1.1 200 OK\r$' "$WORK/head.out"
assert "HEAD /big.bin: Content-Length 5242880" grep -q $'^Content-Length: 5242880\r$' "$WORK/head.out"
assert "HEAD /big.bin: nothing after the header" \
    test "$(tail -c 4 "$WORK/head.out" | od -An -tx1 | tr -d ' \n')" = 0d0a0d0a
assert_eq "HEAD /big.bin: bytes received == header length" "$(stat -c %s "$WORK/head.out")" \
    "$("$PY" -c 'import sys; print(open(sys.argv[1], "rb").read().index(b"\r\n\r\n") + 4)' "$WORK/head.out")"

# ---- errors ----
assert_eq "GET /missing.html status" "$(fetch /missing.html)" 404
assert_eq "GET /missing.html Content-Length matches the body" "$(header Content-Length)" \
    "$(stat -c %s "$WORK/body")"
assert_eq "POST / status" "$(fetch / -d 'a=b')" 405
assert_eq "POST / Allow header" "$(header Allow)" "GET, HEAD"
assert_eq "DELETE / status" "$(fetch / -X DELETE)" 405

printf 'GARBAGE\r\n\r\n' | raw >"$WORK/garbage.out"
assert "garbage request line: 400" grep -q '^HTTP/1.1 400 ' "$WORK/garbage.out"
printf 'GET /\r\n\r\n' | raw >"$WORK/garbage2.out"
assert "request line without a version: 400" grep -q '^HTTP/1.1 400 ' "$WORK/garbage2.out"
printf 'GET / HTTP/1.1\r\n\r\n' | raw >"$WORK/nohost.out"
assert "HTTP/1.1 without Host: 400" grep -q '^HTTP/1.1 400 ' "$WORK/nohost.out"
{
    printf 'GET / HTTP/1.1\r\nHost: x\r\nX-Long: '
    head -c 9000 /dev/zero | tr '\0' a
    printf '\r\n\r\n'
} | raw >"$WORK/long.out"
assert "header over 8 KiB: 400" grep -q '^HTTP/1.1 400 ' "$WORK/long.out"
long_target=/$(head -c 3000 /dev/zero | tr '\0' a)
printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$long_target" | raw >"$WORK/uri.out"
assert "3000-byte target: 414" grep -q '^HTTP/1.1 414 ' "$WORK/uri.out"

# ---- path traversal ----
for p in /../etc/passwd /%2e%2e/%2e%2e/etc/passwd /sub/../../x /../secret.txt \
    /%2e%2e/secret.txt /sub/%2e%2e/%2e%2e/secret.txt /..%2fsecret.txt /sub/..%2f..%2fsecret.txt \
    /link.txt /%2e%2e; do
    code=$(fetch "$p")
    assert "traversal $p refused ($code)" test "$code" = 404 -o "$code" = 403 -o "$code" = 400
    assert "traversal $p: no /etc/passwd content" bash -c "! grep -q '^root:' '$WORK/body'"
    assert "traversal $p: no file from outside the root" bash -c "! grep -q '$SECRET_MARK' '$WORK/body'"
    printf 'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' "$p" | raw >"$WORK/trav.out"
    assert "traversal $p (raw): not 200" bash -c "! grep -q '^HTTP/1.1 200' '$WORK/trav.out'"
    assert "traversal $p (raw): nothing from outside" \
        bash -c "! grep -q -e '^root:' -e '$SECRET_MARK' '$WORK/trav.out'"
done

# ---- connections ----
snapshot
opens0=$(counter tcp.passive_opens)
in_ns curl -sS -v --max-time 30 -o "$WORK/k1" "$URL/" -o "$WORK/k2" "$URL/sub/page.txt" \
    2>"$WORK/keepalive.err" || fail "curl with two URLs failed: $(cat "$WORK/keepalive.err")"
snapshot
opens1=$(counter tcp.passive_opens)
assert_eq "keep-alive: two URLs over one connection (tcp.passive_opens grew by)" \
    $((opens1 - opens0)) 1
assert "keep-alive: curl says it re-used the connection" grep -qi "re-using existing" "$WORK/keepalive.err"
assert "keep-alive: both bodies right" \
    bash -c "cmp -s '$WORK/k1' '$ROOT/index.html' && cmp -s '$WORK/k2' '$ROOT/sub/page.txt'"

# Pipelined: three requests in one write, answered in order.
printf 'GET /sub/page.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n' |
    raw >"$WORK/pipe.out"
assert_eq "pipelined: status lines in order" \
    "$(grep -a '^HTTP/1.1' "$WORK/pipe.out" | tr -d '\r' | cut -d' ' -f2 | tr '\n' ' ')" "200 200 404 "
assert "pipelined: the first body follows its header" grep -q '^plain text$' "$WORK/pipe.out"

# The server closes after Connection: close, and after HTTP/1.0 (NOSHUT: the
# client keeps its side open, so only the server's FIN ends raw()).
printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | NOSHUT=1 raw >"$WORK/close.out" ||
    fail "the server did not close after Connection: close"
assert "Connection: close: answered, then closed" grep -q $'^Connection: close\r$' "$WORK/close.out"
printf 'GET / HTTP/1.0\r\n\r\n' | NOSHUT=1 raw >"$WORK/http10.out" ||
    fail "the server did not close after an HTTP/1.0 request"
assert "HTTP/1.0: 200, then closed" grep -q '^HTTP/1.1 200 ' "$WORK/http10.out"
assert "HTTP/1.0: body complete" grep -q 'ustack test root' "$WORK/http10.out"
snapshot
opens0=$(counter tcp.passive_opens)
in_ns curl -sS -0 -H 'Connection: keep-alive' --max-time 30 -o "$WORK/k1" "$URL/" -o "$WORK/k2" "$URL/" \
    2>"$WORK/keep10.err" || fail "curl -0 failed: $(cat "$WORK/keep10.err")"
snapshot
assert_eq "HTTP/1.0 with keep-alive: one connection" $(($(counter tcp.passive_opens) - opens0)) 1

assert "no per-request lines at info level" bash -c "! grep -q 'http: .*GET ' '$USTACK_LOGFILE'"
stop_ustack
assert_eq "tcp.resets" "$(counter tcp.resets)" 0
assert_eq "packet buffers freed (pkb.alloc == pkb.free)" "$(counter pkb.alloc)" "$(counter pkb.free)"

# ---- without --http-root: the built-in page ----
start_ustack --log debug
assert_eq "built-in: GET / status" "$(fetch /)" 200
assert "built-in: GET / is the ustack page" grep -q '<h1>ustack</h1>' "$WORK/body"
assert_eq "built-in: Content-Type" "$(header Content-Type)" "text/html; charset=utf-8"
assert_eq "built-in: GET /big.bin status" "$(fetch /big.bin)" 404
assert_eq "built-in: GET /../etc/passwd status" "$(fetch /../etc/passwd)" 404
assert "debug level logs each request" grep -q 'http: 192.0.2.1:[0-9]*: GET / -> 200' "$USTACK_LOGFILE"
stop_ustack
pass
