-- Exercises every call of the scenario API (docs/scenarios.md) against the
-- test target, checking what each returns. The end-to-end test asserts
-- that this scenario passes and what it recorded.
return {
  name    = "api: every documented call",
  description = "coverage of the scenario reference",
  tags    = { "api", "selftest" },
  seed    = 42,
  timeout = 40,
  target  = {
    cmd    = { "build/tests/targets/tgt", "--port", "{port}", "--ready", "API-READY",
               "--print", "port {port:aux} tmp {tmpdir} seed {seed}" },
    env    = { FL_TEST_VAR = "x{port}" },
    ready  = { stdout = "API-READY", timeout = 5 },
    health = { tcp = "{port}", send = "PING\n", expect = "PONG", interval = 0.05, timeout = 0.3 },
    stop   = { signal = "TERM", grace = 2 },
    rlimits = { nofile = 256 },
    close  = "linux",
    output_limit = "32KiB",
  },
  sample  = { hz = 250 },
  steady  = { fds = "+1", threads = "+0", rss = "+16MiB", health = true },
  recovery = { hold = 0.1 },
  run = function(t)
    -- fields
    t:check(type(t.port) == "number" and t.port > 0, "t.port is a port")
    t:check(type(t.pid) == "number" and t.pid > 1, "t.pid is a pid")
    t:check(t.seed == 42, "t.seed is the scenario's seed")
    t:check(t.tmpdir:match("^/"), "t.tmpdir is absolute")
    t:check(t.name == "api: every documented call", "t.name")
    local aux = t:port_named("aux")
    t:check(aux > 0 and aux ~= t.port, "port_named gives a second port")
    t:check(tostring(t):match("^target%("), "tostring(t)")

    -- output and placeholders
    local line = t:wait_output("port " .. aux, { stream = "stdout", timeout = 2, past = true })
    t:check(line ~= nil, "the placeholders reached argv: " .. tostring(line))
    t:check(line and line:find("seed 42", 1, true), "{seed} expanded")
    t:check(t:wait_output("^port [0-9]+", { regex = true, stream = "stderr", timeout = 2, past = true }) ~= nil,
            "regex wait on stderr")
    t:check(t:wait_output("never printed", { timeout = 0.2 }) == nil, "wait_output times out with nil")
    t:tcp("PRINT hello from tcp\n")
    t:check(t:wait_output("hello from tcp", { stream = "any", timeout = 2, past = true }) ~= nil, "tcp then wait_output")

    -- baseline, sampling, clock
    local b = t:settle(0.4)
    t:check(b.samples >= 50, "settle took samples: " .. b.samples)
    t:check(t:baseline().fds == b.fds, "baseline() returns the same")
    local s = t:sample()
    t:check(s.fds == b.fds and s.threads == 1 and s.rss > 0, "sample() fields")
    local t0 = t:now()
    t:sleep(0.2)
    t:check(t:now() - t0 >= 0.19, "sleep and now")
    local ok, detail, latency = t:health()
    t:check(ok == true and latency < 0.3, "health() passes: " .. tostring(detail))
    t:expect_steady()

    -- tcp replies and errors
    t:check(t:tcp("PING\n") == "PONG\n", "tcp reply")
    t:check(t:tcp("PING\n", { port = t.port, expect = "PONG", timeout = 1 }) == "PONG\n", "tcp with options")
    local r, err = t:tcp("PING\n", { port = 1, timeout = 0.2 })
    t:check(r == nil and err:match("connect"), "tcp error: " .. tostring(err))

    -- a fault window and recovery: close() fails every time
    t:fault("posix/io/oc/close", { p = 1, errno = "EIO" })
    local reply = t:tcp("CLOSEBURST 50\n")
    t:check(reply == "FAILED 50\n", "every close failed: " .. tostring(reply))
    t:clear("posix/io/oc/close")
    local rec_ok, secs = t:expect_recovery { within = 1, hold = 0.1 }
    t:check(rec_ok and secs < 1, "recovered (Linux close semantics keep no fd)")
    local st = t:stats()
    t:check(st["posix/io/oc/close"].fired >= 50, "stats counts fired faults")

    -- onetime and errno numbers: one close fails, the burst's or (the
    -- health probe's connections are closed by the same thread) a probe's
    local before = t:stats()["posix/io/oc/close"].fired
    t:fault("posix/io/oc/close", { onetime = true, errno = 9 })
    local burst = t:tcp("CLOSEBURST 20\n")
    t:clear()
    local once = t:stats()["posix/io/oc/close"].fired - before
    t:check(once == 1 and (burst == "FAILED 1\n" or burst == "FAILED 0\n"),
            "onetime fails once: " .. once .. " fired, " .. tostring(burst))

    -- episodes: MTTR over repeated windows
    local m = t:episodes { point = "posix/io/oc/close", p = 0.5, count = 3, on = 0.2, off = 0.3, within = 1 }
    t:check(m.recovered == 3 and m.failed == 0, "three episodes recovered")
    t:check(m.mean >= 0 and m.p50 >= 0 and m.p95 >= m.p50 and m.max >= m.p95, "MTTR figures")

    -- health turns bad and good again
    t:tcp("SICK\n")
    local h = t:health()
    t:check(h == false, "a failing health probe")
    t:tcp("WELL\n")

    -- wait_until and quiesce
    t:tcp("LEAKFD 5\n")
    t:check(t:wait_until(function(x) return x.fds >= b.fds + 5 end, 2), "wait_until sees 5 more fds")
    t:tcp("CLOSEFD\n")
    t:check(t:quiesce { hold = 0.1, within = 2 }, "quiesce")
    t:check(t:wait_until(function(x) return x.fds == b.fds end, 2), "fds back")

    -- resource limits on the running target
    local old = t:setrlimit("nofile", 128)
    t:check(old == 256, "setrlimit returns the previous limit: " .. tostring(old))

    -- signals: STOP then CONT; health fails while stopped
    t:signal("STOP")
    t:sleep(0.1)
    local hs = t:health()
    t:check(hs == false, "a stopped target fails its health probe")
    t:signal("CONT")

    -- close mode switch (libfiu keeps the fd): 10 fds stay open
    t:close_mode("libfiu")
    t:fault("posix/io/oc/close", { p = 1 })
    t:tcp("CLOSEBURST 10\n")
    t:clear()
    t:check(t:wait_until(function(x) return x.fds >= b.fds + 10 end, 2), "libfiu close semantics keep fds")
    t:close_mode("linux")

    -- log, print and plain Lua
    t:log("logged", 1, 2)
    print("printed", 3)
    local okp, perr = pcall(error, "caught")
    t:check(not okp and perr == "caught", "pcall works")

    -- restart: a second run of the target
    local pid1 = t.pid
    t:restart { grace = 1 }
    t:check(t.pid ~= pid1, "restart started a new process")
    t:settle(0.3)
    t:tcp("EXIT 3\n")
    local e = t:wait_exit(3)
    t:check(e and e.code == 3, "wait_exit sees exit 3")
    t:expect { exit = 3 }

    -- and a third run, stopped by the harness
    t:start()
    t:settle(0.3)
    local ex = t:stop { grace = 1, signal = "TERM" }
    t:check(ex.exited and ex.code == 0, "stop returns the exit")
    t:expect { exit = 0, survived = true, leaked = { fds = 0, threads = 0, rss = "8MiB" },
               peak = { fds = 100, threads = 5, rss = "64MiB" } }
    t:assert(true, "assert that holds")
  end,
}
