-- Debian's redis-server (apt-get install redis-server; make deps installs
-- it) under the faults a server meets on its sockets. redis is one
-- process with a few background threads; a correct redis drops the one
-- client whose call failed, keeps serving the others and holds nothing
-- more afterwards. Each scenario PASSes on the redis Debian ships.
--
-- redis accepts with accept4(), which libfiu does not wrap: the point
-- posix/io/net/accept4 is faultline's own (`faultline points
-- /usr/bin/redis-server` lists what its imports reach).

local function target()
  return {
    cmd = { "/usr/bin/redis-server", "--port", "{port}", "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", "{tmpdir}",
            "--loglevel", "warning" },
    ready = { port = "{port}" },
    health = { tcp = "{port}", send = "PING\r\n", expect = "+PONG", interval = 0.05 },
  }
end

-- A command sent inline, its reply line (nil and the reason if none).
local function cmd(t, text)
  return t:tcp(text .. "\r\n", { reply_end = "\r\n", timeout = 1 })
end

-- n SETs, one connection each: how many were answered +OK.
local function writes(t, n, tag)
  local ok = 0
  for i = 1, n do
    if cmd(t, string.format("SET %s:%d %d", tag, i, i)) == "+OK\r\n" then ok = ok + 1 end
  end
  return ok
end

local function scenario(name, run)
  return {
    name   = "redis: " .. name,
    tags   = { "servers", "redis" },
    seed   = 7,
    timeout = 60,
    target = target(),
    -- A client connection in flight is not a leak; the final look waits
    -- for the fd table to be quiet.
    steady = { fds = "+2", threads = "+0", health = true },
    run = function(t)
      t:settle(0.5)
      run(t)
      t:expect_recovery { within = 1 }
      t:check(writes(t, 10, "after") == 10, "every SET after the window is answered")
      t:stop()
      t:expect { exit = 0, leaked = { fds = 0, threads = 0 } }
    end,
  }
end

return {
  scenario("accept4 fails, connections wait in the backlog", function(t)
    -- redis's listener is level-triggered: while a connection waits,
    -- every turn of its event loop calls accept4 again, hundreds of
    -- thousands of times a second, each one a journal record. A short
    -- window tells the story.
    t:fault("posix/io/net/accept4", { p = 1, errno = "ECONNABORTED" })
    local reply = t:tcp("PING\r\n", { reply_end = "\r\n", timeout = 0.05 })
    t:clear()
    t:check(reply == nil, "no connection is served while accept4 fails")
  end),

  scenario("read fails, the client is dropped, the others are served", function(t)
    t:fault("posix/io/rw/read", { p = 1, errno = "EIO" })
    local ok = writes(t, 10, "during")
    t:clear()
    t:check(ok == 0, "no SET is answered while every read fails: " .. ok .. " were")
  end),

  scenario("write fails, the reply is lost, nothing is held", function(t)
    t:fault("posix/io/rw/write", { p = 1, errno = "EPIPE" })
    local ok = writes(t, 10, "during")
    t:clear()
    t:check(ok == 0, "no reply arrives while every write fails: " .. ok .. " did")
  end),

  scenario("close fails on every connection, the fds are released", function(t)
    -- Linux releases an fd even when close() fails; faultline's close
    -- wrapper does the same, so any fd left is redis's own.
    t:fault("posix/io/oc/close", { p = 1, errno = "EIO" })
    local ok = writes(t, 20, "churn")
    t:clear()
    t:check(ok == 20, "SETs are answered while close() fails: " .. ok .. " of 20")
  end),
}
