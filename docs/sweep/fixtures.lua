-- Scenarios written for `faultline sweep` (docs/sweep.md) on the fixtures
-- whose shipped scenarios a sweep cannot use as they are:
--
--   faultline sweep -j 2 --nth 2 docs/sweep/fixtures.lua
--
-- What changes from a scenario for `run`: the window opens at a target
-- event, not at a moment of the script, so the K-th call from a site
-- after it is the same call in every run; and nothing may leak at all,
-- since one failed call loses one file, one buffer, one thread.
-- (--nth 2: a batch's first file has nothing open before it; its second
-- has the first.)

-- fileproc: the window opens at an unlink, while a batch's files are
-- deleted, so the next close or malloc is a batch's first file's.
local function fileproc(mode, point)
  return {
    name    = "fileproc " .. mode .. " when " .. point .. " fails",
    tags    = { "sweep", "fileproc" },
    seed    = 1,
    timeout = 30,
    target  = {
      cmd   = { "fixtures/bin/fileproc", "--mode", mode, "--port", "{port}",
                "--batch", "8", "--dir", "{tmpdir}" },
      ready = { stdout = "READY" },
    },
    sample  = { hz = 200 },
    steady  = { fds = "+9", threads = "+0" },
    run = function(t)
      t:settle(0.3)
      t:fault(point, { p = 0.3, after = { point = "posix/io/dir/unlink", calls = 8 } })
      t:sleep(0.5)
      t:clear()
      t:stop()
      t:expect { exit = 0, leaked = { fds = 0 } }
    end,
  }
end

-- allocfail builds the same record 200 times a second: five allocations,
-- the 256 KiB payload first. Whichever record's call fails, losing what
-- came before it is a payload: more than the 128 KiB allowed.
local function allocfail(mode)
  return {
    name    = "allocfail " .. mode .. " when an allocation fails",
    tags    = { "sweep", "allocfail" },
    seed    = 19,
    timeout = 30,
    target  = {
      cmd    = { "fixtures/bin/allocfail", "--mode", mode, "--port", "{port}",
                 "--rate", "200", "--buf-kib", "256", "--keep", "16" },
      ready  = { stdout = "READY" },
    },
    steady  = { fds = "+0", threads = "+0", rss = "+1MiB" },
    run = function(t)
      t:sleep(0.3)                     -- the 16 kept records are made
      t:settle(0.3)
      t:fault("libc/mm/*", { p = 0.05 })
      t:sleep(0.3)
      t:clear()
      t:sleep(0.2)
      t:expect { leaked = { rss = "128KiB", fds = 0, threads = 0 } }
      t:stop()
      t:expect { exit = 0 }
    end,
  }
end

-- chanworker: a held send outlives its handler's 300 ms; with no fault a
-- worker takes 2 ms, so nothing leaks however busy the machine.
local function chanworker(mode)
  return {
    name    = "chanworker " .. mode .. " when a worker's send is held",
    tags    = { "sweep", "chanworker" },
    seed    = 3,
    timeout = 30,
    target  = {
      cmd   = { "fixtures/bin/chanworker", "--mode", mode, "--port", "{port}",
                "--rate", "50", "--handlers", "2", "--timeout-ms", "300" },
      ready = { stdout = "READY" },
    },
    steady  = { threads = "+6", rss = "+16MiB" },
    run = function(t)
      t:settle(0.3)
      t:fault("fl/chan/send/block", { p = 0.2 })
      t:sleep(0.5)
      t:clear()
      t:tcp("RATE 0\n", { expect = "OK" })
      t:quiesce { hold = 0.5, within = 5 }
      t:expect { leaked = { threads = 0 } }
      t:stop()
      t:expect { exit = 0 }
    end,
  }
end

return {
  fileproc("leaky", "posix/io/oc/close"),
  fileproc("fixed", "posix/io/oc/close"),
  fileproc("leaky", "libc/mm/malloc"),
  fileproc("fixed", "libc/mm/malloc"),
  allocfail("leaky"),
  allocfail("fixed"),
  chanworker("leaky"),
  chanworker("fixed"),
}
