-- tgt leaks an fd only when both its 137th and its 342nd close() in
-- PAIRLEAK fail. With seed 11 and p = 0.7 both fail among ~290 faults:
-- shrink must find those two.
return {
  name = "det: leaks only when two given closes fail",
  seed = 11,
  target = { cmd = { "build/tests/targets/tgt", "--port", "{port}" }, ready = { stdout = "READY" } },
  run = function(t)
    t:settle(0.1)
    t:fault("posix/io/oc/close", { p = 0.7 })
    t:log(t:tcp("PAIRLEAK\n"))
    t:clear()
    t:stop()
    t:expect { leaked = { fds = 0 } }
  end,
}
