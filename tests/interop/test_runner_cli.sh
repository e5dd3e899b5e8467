#!/usr/bin/env bash
# runner CLI: --help, rejected arguments (exit 2 with the usage on stderr),
# a missing TAP device created on the fly (with a warning), a second runner
# on a busy device, and SIGUSR1 printing the counters.
# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC2119
source "$(dirname "$0")/lib.sh"
need_root_and_tun
need_ustack
# Everything, even --help, runs inside a namespace of our own: a mistake here
# cannot create or touch a device on the host.
ns_setup --no-tap

# --help: exit 0, usage on stdout, every option mentioned.
rc=0
in_ns "$USTACK" --help >"$WORK/help.out" 2>"$WORK/help.err" || rc=$?
assert_eq "--help exit code" "$rc" 0
assert "--help prints the usage on stdout" grep -q "^Usage: ustack" "$WORK/help.out"
for opt in --tap --packet --packet-ring --addr --gateway --mac --dns --dhcp-wait --pcap --log \
    --seed --http-root --iperf3-port --help; do
    assert "--help mentions $opt" grep -q -- "$opt" "$WORK/help.out"
done
assert_eq "--help writes nothing on stderr" "$(wc -c <"$WORK/help.err")" 0

# expect_usage_error DESCRIPTION ARGS...: exit 2, usage on stderr.
expect_usage_error() {
    local what=$1 rc=0
    shift
    in_ns "$USTACK" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err" </dev/null || rc=$?
    if [ "$rc" -ne 2 ] || ! grep -q "^Usage: ustack" "$WORK/bad.err"; then
        cat "$WORK/bad.err" >&2
        fail "$what ($*): exit $rc, expected 2 with the usage on stderr"
    fi
    log "ok: $what exits 2 with the usage on stderr"
}
expect_usage_error "an unknown option" --no-such-option
expect_usage_error "a stray argument" stray
expect_usage_error "a malformed address" --addr 192.0.2.300/24
expect_usage_error "a bad gateway" --gateway nowhere
expect_usage_error "a multicast MAC" --mac 01:00:5e:00:00:01
expect_usage_error "a bad log level" --log loud
expect_usage_error "a bad seed" --seed 12x
expect_usage_error "a bad --iperf3-port" --iperf3-port 70000
expect_usage_error "an empty --packet" --packet ""
expect_usage_error "a bad --packet-ring" --packet eth0 --packet-ring v4
expect_usage_error "--packet-ring without --packet" --packet-ring v3
expect_usage_error "a bad --addr" --addr 192.0.2.2/33
assert "the message names the bad --addr" grep -q -- "--addr 192.0.2.2/33" "$WORK/bad.err"
expect_usage_error "a bad --dns" --dns 192.0.2.300
expect_usage_error "four --dns servers" --dns 192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4
expect_usage_error "an empty --dns" --dns ,
expect_usage_error "a bad --dhcp-wait" --addr dhcp --dhcp-wait 0
assert "the message names the bad --dhcp-wait" grep -q -- "--dhcp-wait 0" "$WORK/bad.err"
rc=0
USTACK_LOG=loud in_ns "$USTACK" >/dev/null 2>"$WORK/bad.err" </dev/null || rc=$?
assert_eq "USTACK_LOGFILE=loud exit code" "$rc" 2

# A missing TAP device is created (we are root), with a warning that its
# host side has no address; it goes away with the runner.
assert "no device ustk9 before the run" bash -c "! ip netns exec '$NS' ip link show ustk9 >/dev/null 2>&1"
start_ustack --tap ustk9 --gateway none
assert "the runner created ustk9" quietly in_ns ip link show ustk9
assert "the runner warns that the host side has no address" \
    grep -qE "\[W\].*created ustk9, but its host side has no address" "$USTACK_LOGFILE"

# SIGUSR1 prints the counters and the runner keeps going.
kill -USR1 "$USTACK_PID"
assert "SIGUSR1 prints the counters" wait_until 10 grep -q -- "---- ustack counters ----" "$USTACK_LOGFILE"
assert "the runner still runs after SIGUSR1" kill -0 "$USTACK_PID"

# A second runner on the same device gets EBUSY and exits 1.
rc=0
in_ns "$USTACK" --tap ustk9 --gateway none >/dev/null 2>"$WORK/busy.err" </dev/null || rc=$?
assert_eq "a second runner on a busy device exits" "$rc" 1
assert "and says the device is held" grep -q "another program holds ustk9" "$WORK/busy.err"

stop_ustack
assert "the runner logs its shutdown" grep -q "ustack stopped" "$USTACK_LOGFILE"
assert "the device it created is gone after it exits" \
    wait_until 10 bash -c "! ip netns exec '$NS' ip link show ustk9 >/dev/null 2>&1"

# A gateway outside the subnet is refused at setup: exit 1, with a reason.
in_ns ip tuntap add dev "$TAP" mode tap
rc=0
in_ns "$USTACK" --gateway 198.51.100.1 >/dev/null 2>"$WORK/gw.err" </dev/null || rc=$?
assert_eq "a gateway outside the subnet: exit code" "$rc" 1
assert "and the reason is logged" grep -q "default gateway 198.51.100.1" "$WORK/gw.err"
pass
