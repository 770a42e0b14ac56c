-- Call numbers, actors, thread names, windows opened by events, and
-- errnos derived from the seed.
local mt = { "build/tests/targets/mt", "--port", "{port}" }
local tgt = { "build/tests/targets/tgt", "--port", "{port}" }
local function run_mt(t, k)
  local r = t:tcp("RUN " .. k .. "\n", { timeout = 20 })
  t:check(r and r:match("^DONE"), "workers done: " .. tostring(r))
end
return {
  { name = "sel: nth", seed = 1, target = { cmd = mt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      t:fault("posix/io/oc/close", { nth = "3,5-7,every 50", actors = "0.*" })
      run_mt(t, 100)
      t:clear(); t:stop()
    end },
  { name = "sel: one actor", seed = 1, target = { cmd = mt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      t:fault("posix/io/oc/close", { p = 0.5, actors = "0.2" })
      run_mt(t, 100)
      t:clear(); t:stop()
    end },
  { name = "sel: thread name", seed = 1, target = { cmd = mt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      t:fault("posix/io/oc/close", { p = 0.5, actors = "mt-worker-3" })
      run_mt(t, 100)
      t:clear(); t:stop()
    end },
  { name = "sel: after calls", seed = 1, target = { cmd = mt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      t:fault("posix/io/oc/close", { p = 1, actors = "0.1",
                                     after = { point = "posix/io/oc/open", calls = 40, actor = "0.1" } })
      run_mt(t, 100)
      t:clear(); t:stop()
    end },
  { name = "sel: on output", seed = 1, target = { cmd = tgt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      t:fault("posix/io/oc/close", { p = 1, on_output = { text = "GO-FAULTS", stream = "stdout" } })
      t:sleep(0.2)
      t:check(t:tcp("CLOSEBURST 10\n") == "FAILED 0\n", "no faults before the line")
      t:tcp("PRINT GO-FAULTS\n")
      t:sleep(0.2)
      t:check(t:tcp("CLOSEBURST 10\n") == "FAILED 10\n", "faults after the line")
      t:clear(); t:stop()
    end },
  { name = "sel: derived errno", seed = 9, target = { cmd = tgt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      -- The burst's closes are the main thread's first 60; the close of
      -- the connection after the reply races with t:clear(), so it is
      -- left out of the window.
      t:fault("posix/io/oc/close", { p = 1, nth = "1-60" })
      t:tcp("CLOSEBURST 60\n")
      t:clear(); t:stop()
    end },
  { name = "sel: never fired", seed = 1, target = { cmd = tgt, ready = { stdout = "READY" } },
    run = function(t)
      t:settle(0.1)
      t:fault("posix/io/net/connect", { p = 1 })
      t:sleep(0.2)
      t:clear(); t:stop()
    end },
  -- 60 000 faults between two samples: the journal's ring holds 4 096,
  -- so the target waits for the harness to drain it; nothing is lost.
  { name = "sel: full ring", seed = 1, sample = { hz = 1 },
    target = { cmd = tgt, ready = { stdout = "READY" } },
    run = function(t)
      t:fault("posix/io/oc/close", { p = 1, nth = "1-60000" })
      t:check(t:tcp("CLOSEBURST 60000\n", { timeout = 30 }) == "FAILED 60000\n",
              "every close failed")
      t:clear(); t:stop()
    end },
}
