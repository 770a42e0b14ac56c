-- The points faultline's agent adds, on a fortified build
-- (build/tests/targets/fortio, -O2 -D_FORTIFY_SOURCE=2): accept4 on
-- loopback, openat and __openat_2, and __read_chk under the point of
-- read(). Every window is open before the first call and selects calls by
-- number, so the journal is exact (tests/e2e_points.c checks it).
return {
  name = "points: accept4, openat and a fortified read fire",
  seed = 3, timeout = 30,
  target = { cmd = { "build/tests/targets/fortio", "--port", "{port}" },
             ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.1)
    t:fault("posix/io/net/accept4", { nth = "2,4", errno = "EMFILE" })
    t:fault("posix/io/oc/openat", { nth = "3-4" })
    t:fault("posix/io/rw/read", { nth = "every 5" })
    local reply = t:tcp("RUN 10\n", { timeout = 10 })
    t:log("fortio: " .. tostring(reply))
    t:check(reply and reply:match("^DONE openat=2 read=2 accept4=2 "),
            "the program saw 2 failures of each: " .. tostring(reply))
    t:clear()
    t:stop()
  end,
}
