
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/core/dump.c" "CMakeFiles/ustack.dir/src/core/dump.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/dump.c.o.d"
  "/work/main/src/core/log.c" "CMakeFiles/ustack.dir/src/core/log.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/log.c.o.d"
  "/work/main/src/core/pkbuf.c" "CMakeFiles/ustack.dir/src/core/pkbuf.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/pkbuf.c.o.d"
  "/work/main/src/core/ratelimit.c" "CMakeFiles/ustack.dir/src/core/ratelimit.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/ratelimit.c.o.d"
  "/work/main/src/core/rng.c" "CMakeFiles/ustack.dir/src/core/rng.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/rng.c.o.d"
  "/work/main/src/core/stack.c" "CMakeFiles/ustack.dir/src/core/stack.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/stack.c.o.d"
  "/work/main/src/core/stats.c" "CMakeFiles/ustack.dir/src/core/stats.c.o" "gcc" "CMakeFiles/ustack.dir/src/core/stats.c.o.d"
  "/work/main/src/drivers/loopback.c" "CMakeFiles/ustack.dir/src/drivers/loopback.c.o" "gcc" "CMakeFiles/ustack.dir/src/drivers/loopback.c.o.d"
  "/work/main/src/drivers/memlink.c" "CMakeFiles/ustack.dir/src/drivers/memlink.c.o" "gcc" "CMakeFiles/ustack.dir/src/drivers/memlink.c.o.d"
  "/work/main/src/drivers/null.c" "CMakeFiles/ustack.dir/src/drivers/null.c.o" "gcc" "CMakeFiles/ustack.dir/src/drivers/null.c.o.d"
  "/work/main/src/drivers/pcap.c" "CMakeFiles/ustack.dir/src/drivers/pcap.c.o" "gcc" "CMakeFiles/ustack.dir/src/drivers/pcap.c.o.d"
  "/work/main/src/drivers/tap.c" "CMakeFiles/ustack.dir/src/drivers/tap.c.o" "gcc" "CMakeFiles/ustack.dir/src/drivers/tap.c.o.d"
  "/work/main/src/net/arp.c" "CMakeFiles/ustack.dir/src/net/arp.c.o" "gcc" "CMakeFiles/ustack.dir/src/net/arp.c.o.d"
  "/work/main/src/net/ethernet.c" "CMakeFiles/ustack.dir/src/net/ethernet.c.o" "gcc" "CMakeFiles/ustack.dir/src/net/ethernet.c.o.d"
  "/work/main/src/net/icmp.c" "CMakeFiles/ustack.dir/src/net/icmp.c.o" "gcc" "CMakeFiles/ustack.dir/src/net/icmp.c.o.d"
  "/work/main/src/net/ipv4.c" "CMakeFiles/ustack.dir/src/net/ipv4.c.o" "gcc" "CMakeFiles/ustack.dir/src/net/ipv4.c.o.d"
  "/work/main/src/net/netif.c" "CMakeFiles/ustack.dir/src/net/netif.c.o" "gcc" "CMakeFiles/ustack.dir/src/net/netif.c.o.d"
  "/work/main/src/net/route.c" "CMakeFiles/ustack.dir/src/net/route.c.o" "gcc" "CMakeFiles/ustack.dir/src/net/route.c.o.d"
  "/work/main/src/runtime/clock.c" "CMakeFiles/ustack.dir/src/runtime/clock.c.o" "gcc" "CMakeFiles/ustack.dir/src/runtime/clock.c.o.d"
  "/work/main/src/wire/arp.c" "CMakeFiles/ustack.dir/src/wire/arp.c.o" "gcc" "CMakeFiles/ustack.dir/src/wire/arp.c.o.d"
  "/work/main/src/wire/checksum.c" "CMakeFiles/ustack.dir/src/wire/checksum.c.o" "gcc" "CMakeFiles/ustack.dir/src/wire/checksum.c.o.d"
  "/work/main/src/wire/ethernet.c" "CMakeFiles/ustack.dir/src/wire/ethernet.c.o" "gcc" "CMakeFiles/ustack.dir/src/wire/ethernet.c.o.d"
  "/work/main/src/wire/icmp.c" "CMakeFiles/ustack.dir/src/wire/icmp.c.o" "gcc" "CMakeFiles/ustack.dir/src/wire/icmp.c.o.d"
  "/work/main/src/wire/ipv4.c" "CMakeFiles/ustack.dir/src/wire/ipv4.c.o" "gcc" "CMakeFiles/ustack.dir/src/wire/ipv4.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
