---@meta faultline
-- Type definitions of faultline's scenario API for the Lua language server
-- (LuaLS / sumneko): completion, hover and checks for scenario files.
--
-- Point your editor at this directory (docs/scenarios.md, "Editor"):
--   .luarc.json: { "workspace.library": ["/usr/local/share/faultline/types"] }
-- and annotate a scenario's table:
--   ---@type faultline.Scenario
--   return { name = "...", target = { cmd = { ... } }, run = function(t) end }
--
-- This file and the harness describe the same API: tests/unit_api.c fails
-- when one has a field, option or method the other lacks.

---A tolerance around the baseline: "+2" (at most 2 above), "-1" (at most 1
---below), "±2" or "+-2" (both ways), "10%", or a number (same as "+N");
---sizes for rss ("+8MiB").
---@alias faultline.Tolerance string|number

---A size: a number of bytes, or "64KiB", "200MiB", "1GiB".
---@alias faultline.Size string|number

---A port: a number, "{port}" or "{port:NAME}".
---@alias faultline.Port string|integer

---An errno: a name ("EIO", "ENOMEM", ...) or a number.
---@alias faultline.Errno string|integer

---@alias faultline.Stream "stdout"|"stderr"|"any"

---A scenario: what a scenario file returns (or a list of them).
---@class faultline.Scenario
---@field name? string Shown in every report (default: the file name).
---@field description? string Shown in the HTML report.
---@field tags? string[] `faultline run --tags a,b` selects by tag.
---@field seed? integer Seed of every fault decision, >= 0 (default 1; `--seed` overrides it).
---@field timeout? number The watchdog, in seconds (default 60; `--timeout` overrides it).
---@field xfail? boolean|string|faultline.Xfail The scenario is expected to fail.
---@field target faultline.Target The program under test.
---@field sample? faultline.Sample How often the target is sampled.
---@field steady? faultline.Steady The steady-state hypothesis (default { fds = "+0", threads = "+0" }).
---@field recovery? faultline.Recovery How long the steady state must hold.
---@field run fun(t: faultline.T) The scenario itself.

---@class faultline.Xfail
---@field reason? string Why it is expected to fail.
---@field match? string A Lua pattern the failure message must match, or the verdict is FAIL.

---@class faultline.Target
---@field cmd string[] The program and its arguments; placeholders {port}, {port:NAME}, {tmpdir}, {seed}.
---@field env? table<string, string|number> Variables added to (or replacing) the harness's environment.
---@field cwd? string Working directory.
---@field ready? faultline.Ready When the target counts as started (default: at once).
---@field health? faultline.Health|fun(t: faultline.T): boolean, string? The health probe.
---@field health_interval? number Seconds between calls of a health function (default 0.1).
---@field stop? faultline.Stop How t:stop() and the end of the scenario stop it.
---@field rlimits? faultline.Rlimits Resource limits set before the program starts.
---@field close? "linux"|"libfiu" What an injected close() failure does with the fd (default "linux": released).
---@field output_limit? faultline.Size How much of the end of stdout and stderr is kept (default "64KiB").
---@field autostart? boolean Start before run (default true); with false, call t:start().
---@field exits? boolean The target is expected to exit by itself with a status (a batch job).
---@field inherit? boolean Programs the target executes keep the agent (default false).
---@field origins? boolean The agent remembers the call site that opened each fd, so leak forensics say where a leaked fd was opened (default false; always on in a sweep).
---@field watch? string A directory whose entries are counted: the figure files.
---@field oom? faultline.Oom The OOM precursor.

---@class faultline.Ready
---@field stdout? string A line on stdout containing this text.
---@field stderr? string A line on stderr containing this text.
---@field output? string A line on either stream containing this text.
---@field regex? boolean The text is a POSIX extended regular expression.
---@field port? faultline.Port This port accepts a connection.
---@field delay? number At least this many seconds after the start.
---@field timeout? number Give up after this many seconds (default 10).

---@class faultline.Health
---@field tcp? faultline.Port The port to probe (tcp or unix is required).
---@field host? "127.0.0.1"|"localhost"|"::1" The address (default "127.0.0.1").
---@field unix? string A Unix-domain stream socket to probe instead.
---@field send? string Bytes written once connected (line protocols).
---@field expect? string Text the reply (or, with http, the body) must contain.
---@field regex? boolean expect is a POSIX extended regular expression.
---@field reply_end? string Where a line reply ends (default "\n"; "" : when the target closes).
---@field http? string An HTTP probe: GET this path ("/health").
---@field status? integer|string|(integer|string)[] With http, the statuses that pass (default 200; "2xx", "200-299").
---@field http_host? string With http, the Host header.
---@field timeout? number Seconds for the whole probe (default 0.5).
---@field interval? number Seconds between probes while the script waits (default 0.1).

---@class faultline.Stop
---@field signal? string "TERM" (default), "INT", "USR1", ...
---@field grace? number Seconds to wait for the exit before SIGKILL (default 2).

---@class faultline.Rlimits
---@field nofile? number
---@field as? faultline.Size
---@field nproc? number
---@field core? faultline.Size
---@field stack? faultline.Size
---@field data? faultline.Size
---@field fsize? faultline.Size
---@field cpu? number

---@class faultline.Oom
---@field rss faultline.Size When RSS first reaches this, the fd table, threads and smaps_rollup are saved.
---@field core? boolean Also a core, taken with gcore, into the report directory.

---@class faultline.Sample
---@field hz? number Samples per second, 1 to 10000 (default 200).

---@class faultline.Steady
---@field fds? faultline.Tolerance
---@field threads? faultline.Tolerance
---@field rss? faultline.Tolerance
---@field files? faultline.Tolerance Entries of target.watch.
---@field procs? faultline.Tolerance Processes of the target's tree.
---@field health? boolean The health probe must pass.
---@field per? "tree"|"process" Each figure on the tree's sum (default), or each process against its own baseline.

---@class faultline.Recovery
---@field hold? number Seconds the steady state must hold to count as recovered, and the period over which the baseline and final snapshots look (default 0.1).

---What t:stop, t:wait_exit return.
---@class faultline.Exit
---@field exited boolean
---@field code? integer
---@field signal? string
---@field core boolean

---A sample of the target's figures (sums over its processes).
---@class faultline.Reading
---@field t number Seconds since the target started.
---@field fds integer
---@field threads integer
---@field rss integer Bytes.
---@field files? integer With target.watch.
---@field procs integer Processes of the target's tree.

---One process of the target's tree, with its latest sample's figures.
---@class faultline.Process
---@field pid integer
---@field ppid integer The parent it was found with.
---@field name string
---@field fds integer
---@field threads integer
---@field rss integer Bytes.
---@field root boolean The process faultline started.
---@field zombie boolean Exited, not reaped by its parent yet.
---@field left_group boolean Not in the target's process group.
---@field left_session boolean Not in the target's session.

---@class faultline.Baseline
---@field t number
---@field samples integer
---@field fds number
---@field threads number
---@field rss number
---@field files? number
---@field procs number

---@class faultline.StopOptions
---@field grace? number
---@field signal? string

---@class faultline.RestartOptions
---@field grace? number

---@class faultline.QuiesceOptions
---@field hold? number Seconds fds and threads must not change (default 0.2).
---@field within? number Give up after this many seconds (default 5).

---@class faultline.WaitOutputOptions
---@field stream? faultline.Stream
---@field regex? boolean
---@field timeout? number Seconds (default 5).
---@field past? boolean Lines already captured count too.

---@class faultline.TcpOptions
---@field port? integer Default t.port.
---@field host? "127.0.0.1"|"localhost"|"::1"
---@field unix? string A Unix-domain stream socket instead.
---@field expect? string Read the reply up to this text.
---@field reply_end? string Without expect, read up to this (default "\n").
---@field timeout? number Seconds (default 2).

---@class faultline.HttpOptions
---@field port? integer Default t.port.
---@field host? "127.0.0.1"|"localhost"|"::1"
---@field unix? string
---@field http_host? string The Host header.
---@field timeout? number Seconds (default 2).

---@class faultline.FaultOptions
---@field p? number Probability a call fails, 0 to 1 (default 1).
---@field errno? faultline.Errno Default: one of the function's valid errnos, chosen by the seed.
---@field onetime? boolean Fail once, then never again.
---@field failnum? integer The value libfiu's fiu_fail() returns (a target's own points).
---@field nth? integer|string Only these call numbers: 3, "5-9", "every 4", "3,5-9".
---@field actors? string Only calls by threads whose actor or name matches this glob.
---@field after? faultline.After The window opens after this many calls of a point.
---@field on_output? string|faultline.OnOutput The window opens on a line of output.
---@field optional? string Why it is fine if the window never fires (otherwise that fails the scenario).

---@class faultline.After
---@field point string
---@field calls integer
---@field actor? string Counted for this actor only (exact windows).

---@class faultline.OnOutput
---@field text string
---@field stream? faultline.Stream
---@field regex? boolean

---@class faultline.RecoveryOptions
---@field within number Seconds recovery may take.
---@field hold? number Seconds the steady state must then hold.

---@class faultline.EpisodesOptions
---@field point string
---@field p? number
---@field errno? faultline.Errno
---@field onetime? boolean
---@field failnum? integer
---@field nth? integer|string
---@field actors? string
---@field count? integer Windows (default 5).
---@field on? number Seconds each window is open (default 0.5).
---@field off? number Seconds of quiet after each (default 1).
---@field within? number Seconds recovery may take (default off).
---@field hold? number
---@field optional? string

---@class faultline.Mttr
---@field recovered integer
---@field failed integer
---@field mean? number
---@field p50? number
---@field p95? number
---@field max? number

---@class faultline.ExpectOptions
---@field exit? integer The target exited with this status.
---@field signal? string The target was ended by this signal ("SIGSEGV").
---@field pid? integer exit and signal judge this process of the tree (from t:processes()) instead of the first; its end is then no survival failure.
---@field leaked? faultline.Leaked At most this much leaked (final minus baseline).
---@field peak? faultline.Figures The highest sample is at most this.
---@field steady? boolean The steady state holds now.
---@field survived? boolean No process of the target was killed by a signal faultline did not send.
---@field trend? faultline.Trend The least-squares slope is at most this rate.

---@class faultline.Figures
---@field fds? number
---@field threads? number
---@field rss? faultline.Size
---@field files? number
---@field procs? number

---@class faultline.Leaked
---@field fds? number
---@field threads? number
---@field rss? faultline.Size
---@field files? number
---@field procs? number
---@field per? "tree"|"process" The tree's sum (default), or each process against itself at the baseline (the one that leaked most is named).

---@class faultline.Trend
---@field fds? string|number A rate: "2/s", "30/min", or a number per second.
---@field threads? string|number
---@field rss? string|number "1MiB/s", "10MiB/min".
---@field files? string|number
---@field procs? string|number
---@field window? number Seconds back from the end (default: since the baseline).

---The target object a scenario's run(t) receives.
---@class faultline.T
---@field port integer The {port} of this scenario.
---@field pid? integer The running target's pid.
---@field seed integer The seed in effect.
---@field tmpdir string The scenario's scratch directory.
---@field name string The scenario's name.
local T = {}

---Starts the target and waits until it is ready.
function T:start() end

---Takes the final measurement, clears every fault, stops the target.
---@param opts? faultline.StopOptions
---@return faultline.Exit
function T:stop(opts) end

---Stops and starts again.
---@param opts? faultline.RestartOptions
function T:restart(opts) end

---Waits for the target to exit by itself.
---@param timeout? number Seconds (default 10).
---@return faultline.Exit|nil
function T:wait_exit(timeout) end

---Sends a signal to the target ("STOP", "CONT", "USR1", ...), or to one
---process of its tree alone (pid from t:processes(); an error if it is no
---live process of the tree). That process's end by that signal is then
---the script's doing, no survival failure.
---@param name string
---@param pid? integer
function T:signal(name, pid) end

---Changes a resource limit of the running target.
---@param name "nofile"|"as"|"nproc"|"core"|"stack"|"data"|"fsize"|"cpu"
---@param value number|string
---@return number previous The previous soft limit.
function T:setrlimit(name, value) end

---Waits.
---@param seconds number
function T:sleep(seconds) end

---Waits, then takes the baseline over that window.
---@param seconds? number Default 0.5.
---@return faultline.Baseline
function T:settle(seconds) end

---@return faultline.Baseline|nil
function T:baseline() end

---The latest sample.
---@return faultline.Reading|nil
function T:sample() end

---The processes of the target's tree.
---@return faultline.Process[]
function T:processes() end

---Seconds since the target started.
---@return number
function T:now() end

---Calls fn(sample) on each new sample until it returns true.
---@param fn fun(s: faultline.Reading): boolean
---@param timeout? number Seconds (default 5).
---@return boolean
function T:wait_until(fn, timeout) end

---Waits until fds and threads have not changed for a while.
---@param opts? faultline.QuiesceOptions
---@return boolean
function T:quiesce(opts) end

---Opens a fault window on a point.
---@param point string "posix/io/oc/close", "libc/mm/malloc", a target's own point, ...
---@param opts? faultline.FaultOptions
function T:fault(point, opts) end

---Closes the window of one point, or of all.
---@param point? string
function T:clear(point) end

---Per point, the calls seen while a window was open and the faults fired.
---@return table<string, {calls: integer, fired: integer}>
function T:stats() end

---What an injected close() failure does with the fd from now on.
---@param mode "linux"|"libfiu"
function T:close_mode(mode) end

---After t:clear(), waits until the steady state holds again.
---@param opts? faultline.RecoveryOptions
---@return boolean ok
---@return number|nil seconds
function T:expect_recovery(opts) end

---Repeated fault windows, each followed by a recovery check.
---@param opts faultline.EpisodesOptions
---@return faultline.Mttr
function T:episodes(opts) end

---Waits for a line of output.
---@param text string
---@param opts? faultline.WaitOutputOptions
---@return string|nil line
function T:wait_output(text, opts) end

---Sends text to the target and returns its reply.
---@param text string
---@param opts? faultline.TcpOptions
---@return string|nil reply
---@return string? reason
function T:tcp(text, opts) end

---An HTTP GET on the target.
---@param path string
---@param opts? faultline.HttpOptions
---@return integer|nil status
---@return string body_or_reason
---@return table<string, string>? headers
function T:http(path, opts) end

---The port {port:NAME} stands for.
---@param name string
---@return integer
function T:port_named(name) end

---Runs the health probe now.
---@return boolean ok
---@return string detail
---@return number latency Seconds.
function T:health() end

---Checks the end state; every failed expectation is recorded.
---@param opts faultline.ExpectOptions
---@return boolean all_held
function T:expect(opts) end

---The steady state holds now.
---@return boolean
function T:expect_steady() end

---Records an expectation; the run goes on.
---@param cond any
---@param message? string
---@return boolean
function T:check(cond, message) end

---Like check, but a failure ends the run (FAIL, not ERROR).
---@param cond any
---@param message? string
function T:assert(cond, message) end

---Fails the scenario and ends the run.
---@param message? string
function T:fail(message) end

---Writes to the scenario's log.
---@param ... any
function T:log(...) end
