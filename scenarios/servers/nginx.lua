-- Debian's nginx-light (apt-get install nginx-light; make deps installs
-- it): a master and two workers it forks after binding, the workers
-- dropping privileges to `nobody`. A correct nginx fails the one request
-- whose call failed, keeps serving, and holds nothing more afterwards.
-- Each scenario PASSes on the nginx Debian ships.
--
-- The windows open after the workers exist and reach them anyway: every
-- process of the target maps faultline's shared region, so a window is
-- seen at each process's next call. The workers serve a file the
-- scenario writes into {tmpdir}, which a worker running as nobody can
-- open ({tmpdir} is mode 0711: no one else can list it).

local conf = [[
daemon off; master_process on; worker_processes 2;
pid TMP/nginx.pid; error_log stderr crit;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path TMP/cb; proxy_temp_path TMP/px;
  fastcgi_temp_path TMP/fc; uwsgi_temp_path TMP/uw; scgi_temp_path TMP/sc;
  server {
    listen 127.0.0.1:PORT;
    root TMP;
    location = /health { return 200 "ok\n"; }
  }
}
]]

local page = "hello from faultline\n"

-- Writes the configuration and the page, then starts nginx.
local function start(t)
  local f = assert(io.open(t.tmpdir .. "/nginx.conf", "w"))
  f:write((conf:gsub("TMP", t.tmpdir):gsub("PORT", tostring(t.port))))
  f:close()
  f = assert(io.open(t.tmpdir .. "/index.html", "w"))
  f:write(page)
  f:close()
  t:start()
end

-- n requests for the page: how many were served in full.
local function gets(t, n)
  local ok = 0
  for _ = 1, n do
    local status, body = t:http("/index.html", { timeout = 1 })
    if status == 200 and body == page then ok = ok + 1 end
  end
  return ok
end

-- The target's processes, "pid pid pid" in pid order.
local function pids(t)
  local v = {}
  for _, p in ipairs(t:processes()) do v[#v + 1] = p.pid end
  table.sort(v)
  return table.concat(v, " ")
end

-- The non-root processes of the tree that still run, in pid order.
local function workers(t)
  local v = {}
  for _, p in ipairs(t:processes()) do
    if not p.root and not p.zombie then v[#v + 1] = p.pid end
  end
  table.sort(v)
  return v
end

-- A worker killed by SIGSEGV from the script (t:signal to that pid
-- alone): the end is the script's doing, so survival holds, and the
-- master must fork a replacement. A worker that crashed on its own
-- would fail the run, named (the survival rule excuses the pid the
-- script signalled, for that signal, and no other).
local replaced = {
  name    = "nginx: a worker killed by SIGSEGV is replaced",
  tags    = { "servers", "nginx", "signal" },
  seed    = 11,
  timeout = 60,
  target  = {
    autostart = false,
    cmd = { "/usr/sbin/nginx", "-p", "{tmpdir}", "-c", "{tmpdir}/nginx.conf", "-e", "stderr" },
    ready = { port = "{port}" },
    health = { tcp = "{port}", http = "/health", interval = 0.05 },
  },
  steady = { health = true },
  run = function(t)
    start(t)
    t:settle(0.5)
    local before = workers(t)
    t:check(#before == 2, "2 workers: " .. table.concat(before, " "))
    local victim = before[1]
    local t0 = t:now()
    t:signal("SEGV", victim)
    -- Replaced: 2 workers again, the victim not among them.
    local mttr
    local ok = t:wait_until(function()
      local w = workers(t)
      if #w ~= 2 then return false end
      for _, pid in ipairs(w) do if pid == victim then return false end end
      mttr = t:now() - t0
      return true
    end, 10)
    t:check(ok, "the master forked a worker in place of " .. victim)
    t:expect { pid = victim, signal = "SIGSEGV" }
    -- Serving again: every request answered, the probe healthy.
    t:check(gets(t, 20) == 20, "every request after the replacement is served")
    t:check(mttr and mttr < 1, string.format("worker replaced in %.3f s (allowed 1 s)", mttr or -1))
    t:stop()
    t:expect { exit = 0 }
  end,
}

local function scenario(name, run)
  return {
    name    = "nginx: " .. name,
    tags    = { "servers", "nginx" },
    seed    = 11,
    timeout = 60,
    target  = {
      autostart = false,
      cmd = { "/usr/sbin/nginx", "-p", "{tmpdir}", "-c", "{tmpdir}/nginx.conf", "-e", "stderr" },
      ready = { port = "{port}" },
      health = { tcp = "{port}", http = "/health", interval = 0.05 },
    },
    -- Each process against its own baseline: a worker that keeps one fd
    -- more is named, even if the sum would hide it within the tolerance.
    steady = { fds = "+2", threads = "+0", health = true, per = "process" },
    run = function(t)
      start(t)
      t:settle(0.5)
      t:check(gets(t, 5) == 5, "the workers (user nobody) serve the page from {tmpdir}")
      local before = pids(t)
      t:check(select(2, before:gsub(" ", "")) == 2, "a master and 2 workers: " .. before)
      run(t)
      t:expect_recovery { within = 1 }
      t:check(gets(t, 20) == 20, "every request after the window is served")
      -- The same master and two workers: a worker that died under the
      -- faults would have been forked again, with a new pid.
      t:check(pids(t) == before, "the same processes after the window: " ..
              before .. " before, " .. pids(t) .. " after")
      t:stop()
      t:expect { exit = 0, leaked = { fds = 0, threads = 0, procs = 0 } }
    end,
  }
end

return {
  replaced,

  scenario("recv fails in the workers", function(t)
    t:fault("posix/io/net/recv", { p = 1, errno = "ECONNRESET" })
    local ok = gets(t, 20)
    t:clear()
    t:check(ok == 0, "no request is served while every recv fails: " .. ok .. " were")
  end),

  scenario("accept4 fails in the workers, connections wait", function(t)
    t:fault("posix/io/net/accept4", { p = 1, errno = "ECONNABORTED" })
    local status = t:http("/index.html", { timeout = 0.05 })
    t:clear()
    t:check(status == nil, "no connection is served while accept4 fails")
  end),

  scenario("close fails on every connection, the fds are released", function(t)
    t:fault("posix/io/oc/close", { p = 1, errno = "EIO" })
    local ok = gets(t, 20)
    t:clear()
    t:check(ok == 20, "requests are served while close() fails: " .. ok .. " of 20")
  end),
}
