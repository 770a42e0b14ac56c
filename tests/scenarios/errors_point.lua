return {
  name = "error: misspelled point",
  target = { cmd = { "build/tests/targets/tgt" }, ready = { stdout = "READY" } },
  run = function(t)
    t:fault("posix/io/oc/clsoe", { p = 0.5 })
  end,
}
