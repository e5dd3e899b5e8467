#!/usr/bin/env bash
# offload: the TAP's virtio-net header and offloads (docs/DESIGN.md,
# "Offloads") against the kernel, in four set-ups:
#   on          the runner's default: the header, checksums and TSO negotiated,
#               shown by `ethtool -k` on the kernel's side of the TAP
#   off         --offload off: plain frames, nothing negotiated
#   mtu         --mtu 65520 (pasta's MTU) with offloads on: segments fit the
#               MTU whole (no super-frames), frames average far over 1,514 bytes
#   kernel-off  offloads on at ustack, then turned off on the kernel's side
#               (`ethtool -K tap0 tx off tso off gso off`)
#   v6          offloads on, the traffic over IPv6 (2001:db8::2): TSO6
# In each: OFFLOAD_MB (default 200) MB each way at once through echo,
# byte-exact (sha256); iperf3 -n 20M both ways with received == sent; curl of
# a 16 MB file from --http-root, byte-exact. The counters show super-frames
# both ways where TSO was negotiated and none where it was not, no checksum
# drops and no metadata refused.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
PY=$(python3_bin)
need_cmd ethtool iperf3 curl
need_ustack
MB=${OFFLOAD_MB:-200}
ns_setup --ipv6
CHECK=("$PY" "$INTEROP_DIR/iperf3_check.py")

data=$WORK/data.bin
head -c "$((MB * 1024 * 1024))" /dev/urandom >"$data"
mkdir -p "$WORK/www"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$WORK/www/big.bin"
want_sum=$(sha256sum "$WORK/www/big.bin" | cut -c1-64)

# feature NAME: what ethtool -k says of the kernel's side of the TAP.
feature() { in_ns ethtool -k "$TAP" | awk -v f="$1:" '$1 == f {print $2}'; }

# traffic MODE [ADDR [URL_HOST]]: the three transfers to ADDR (default
# the runner's IPv4 address).
traffic() {
    local mode=$1 addr=${2:-$USTACK_ADDR} url_host=${3:-$USTACK_ADDR}
    assert "$mode: $MB MB each way through echo, byte-exact (sha256)" \
        in_ns timeout 110 "$PY" "$INTEROP_DIR/tcp_peer.py" echo "$addr" 7 "$data"
    local dir
    for dir in fwd rev; do
        local args=(-n 20M)
        [ "$dir" = rev ] && args+=(-R)
        in_ns timeout 60 iperf3 -c "$addr" -J "${args[@]}" >"$WORK/$mode-$dir.json" ||
            fail "$mode: iperf3 -c ${args[*]} failed: $(cat "$WORK/$mode-$dir.json")"
        assert "$mode: iperf3 ${args[*]}: received == sent" "${CHECK[@]}" result \
            "$WORK/$mode-$dir.json" "iperf3 -c" --equal \
            --reverse "$([ "$dir" = rev ] && echo 1 || echo 0)"
    done
    local got
    got=$(in_ns timeout 60 curl -sf "http://$url_host/big.bin" | sha256sum | cut -c1-64)
    assert_eq "$mode: curl of 16 MB, byte-exact (sha256)" "$got" "$want_sum"
}

# after MODE SUPER_RX SUPER_TX: stop the runner and check its counters;
# SUPER_*: "yes" (super-frames that way) or "no" (none).
after() {
    local mode=$1
    stop_ustack
    assert_eq "$mode: tcp.drop_checksum" "$(counter tcp.drop_checksum)" 0
    assert_eq "$mode: offload.rx_bad_meta" "$(counter offload.rx_bad_meta)" 0
    assert_eq "$mode: offload.rx_bad_super" "$(counter offload.rx_bad_super)" 0
    assert_eq "$mode: tcp.resets" "$(counter tcp.resets)" 0
    if [ "$2" = yes ]; then
        assert_ge "$mode: super-frames received (offload.rx_super)" "$(counter offload.rx_super)" 1
        assert_ge "$mode: checksums vouched for (offload.rx_csum_trusted)" \
            "$(counter offload.rx_csum_trusted)" 1
    else
        assert_eq "$mode: no super-frame received" "$(counter offload.rx_super)" 0
    fi
    if [ "$3" = yes ]; then
        assert_ge "$mode: super-frames sent (offload.tx_super)" "$(counter offload.tx_super)" 1
        assert_ge "$mode: ... carrying several segments each" "$(counter offload.tx_super_segs)" \
            $((2 * $(counter offload.tx_super)))
    else
        assert_eq "$mode: no super-frame sent" "$(counter offload.tx_super)" 0
    fi
}

# ---- on: the default ----
start_ustack --http-root "$WORK/www"
assert "on: the runner says offloads are on" grep -q "offloads on" "$USTACK_LOGFILE"
assert_eq "on: ethtool -k: tcp-segmentation-offload" "$(feature tcp-segmentation-offload)" on
assert_eq "on: ethtool -k: tx-checksumming" "$(feature tx-checksumming)" on
traffic on
after on yes yes

# ---- off: --offload off ----
start_ustack --http-root "$WORK/www" --offload off
assert "off: the runner says offloads are off" grep -q "offloads off" "$USTACK_LOGFILE"
assert_eq "off: ethtool -k: tcp-segmentation-offload" "$(feature tcp-segmentation-offload)" off
assert_eq "off: ethtool -k: tx-checksumming" "$(feature tx-checksumming)" off
traffic off
after off no no
assert_eq "off: no checksum left to the kernel" "$(counter offload.tx_csum_partial)" 0

# ---- mtu: --mtu 65520 ----
start_ustack --http-root "$WORK/www" --mtu 65520
assert "mtu: the TAP's MTU is 65520" quietly in_ns sh -c "ip link show $TAP | grep -q 'mtu 65520 '"
assert "mtu: the runner took it" grep -q "dev=$TAP, type=ethernet, mtu=65520" "$USTACK_LOGFILE"
traffic mtu
# Segments of up to 65,480 bytes fit the MTU: nothing to cut, either way.
after mtu no no
assert_ge "mtu: frames received average over 4,000 bytes (eth.rx_bytes / eth.rx)" \
    $(($(counter eth.rx_bytes) / $(counter eth.rx))) 4000
assert_ge "mtu: frames sent average over 4,000 bytes (eth.tx_bytes / eth.tx)" \
    $(($(counter eth.tx_bytes) / $(counter eth.tx))) 4000
in_ns ip link set "$TAP" mtu 1500

# ---- kernel-off: offloads on at ustack, off at the kernel ----
start_ustack --http-root "$WORK/www"
in_ns ethtool -K "$TAP" tx off tso off gso off >/dev/null 2>&1 ||
    fail "ethtool -K $TAP tx off tso off gso off failed"
assert_eq "kernel-off: ethtool -k: tcp-segmentation-offload" \
    "$(feature tcp-segmentation-offload)" off
traffic kernel-off
after kernel-off no yes

# ---- v6: offloads on, over IPv6 only ----
in_ns ethtool -K "$TAP" tx on tso on gso on >/dev/null 2>&1 ||
    fail "ethtool -K $TAP tx on tso on gso on failed"
start_ustack --http-root "$WORK/www"
wait_until 10 in_ns ping -6 -c 1 -W 1 "$USTACK_ADDR6" >/dev/null ||
    fail "v6: $USTACK_ADDR6 does not answer ping -6"
traffic v6 "$USTACK_ADDR6" "[$USTACK_ADDR6]"
after v6 yes yes
pass
