-- Exercises the scenario table's fields that api.lua does not: env, cwd,
-- ready on a port / on any stream / after a delay, a Lua health function,
-- output_limit, autostart = false, exits = true, and xfail.match.
local tgt = "build/tests/targets/tgt"
return {
  {
    name = "config: env, cwd, ready on stderr",
    target = { cmd = { "../../build/tests/targets/tgt", "--print-env", "FL_CFG", "--print-cwd",
                       "--ready-stderr" },
               cwd = "tests/scenarios",
               env = { FL_CFG = "v-{seed}" },
               ready = { output = "READY" } },
    seed = 9,
    run = function(t)
      t:check(t:wait_output("ENV FL_CFG=v-9", { past = true, stream = "stdout", timeout = 2 }) ~= nil,
              "env with a placeholder")
      t:check(t:wait_output("^CWD /.*/tests/scenarios$", { past = true, regex = true, timeout = 2 }) ~= nil,
              "cwd, and a cmd path relative to it")
      t:stop()
      t:expect { exit = 0 }
    end,
  },
  {
    name = "config: output limit",
    target = { cmd = { tgt, "--spam", "5000" }, ready = { stdout = "READY" },
               output_limit = "8KiB" },
    run = function(t)
      t:check(t:wait_output("spam line 4999:", { past = true, timeout = 2 }) ~= nil, "the end is kept")
      t:check(t:wait_output("spam line 0:", { past = true, timeout = 0.1 }) == nil,
              "the beginning fell out of an 8 KiB tail")
      t:stop()
    end,
  },
  {
    name = "config: ready on a port after a delay, health function",
    target = { cmd = { tgt, "--no-ready", "--listen-after", "300", "--port", "{port}" },
               ready = { port = "{port}", delay = 0.5, timeout = 5 },
               health = function(t)
                 local r = t:tcp("PING\n", { timeout = 0.3 })
                 return r == "PONG\n", "reply " .. tostring(r)
               end,
               health_interval = 0.05 },
    steady = { fds = "+1", health = true },
    run = function(t)
      t:check(t:now() >= 0.5, "ready no sooner than the delay: " .. t:now())
      t:check(t:tcp("PING\n") == "PONG\n", "the port was listening when ready")
      t:settle(0.3)
      t:tcp("SICK\n")
      t:sleep(0.2)
      t:tcp("WELL\n")
      t:expect_steady()
      t:stop()
    end,
  },
  {
    name = "config: autostart off",
    target = { cmd = { tgt, "--port", "{port}" }, ready = { stdout = "READY" }, autostart = false },
    run = function(t)
      t:check(t.pid == nil, "not started yet")
      t:start()
      t:check(t.pid ~= nil, "started")
      t:settle(0.1)
    end,
  },
  {
    name = "config: a target that exits by itself",
    target = { cmd = { tgt, "--exit-after", "300", "--code", "0" }, ready = { stdout = "READY" },
               exits = true },
    run = function(t) t:sleep(0.6) end,
  },
  {
    name = "config: xfail that fails for another reason",
    xfail = { reason = "expects a leak", match = "leaked %d+ fds" },
    target = { cmd = { tgt }, ready = { stdout = "READY" } },
    run = function(t) t:check(false, "something else broke") end,
  },
  {
    name = "config: xfail that passes",
    xfail = "expected to leak, but does not",
    target = { cmd = { tgt }, ready = { stdout = "READY" } },
    run = function(t) t:settle(0.1); t:stop(); t:expect { leaked = { fds = 0 } } end,
  },
}
