-- A misspelled point of the target's own (chanworker declares
-- fl/chan/send/block): caught from the binary's fl_points section.
return {
  name = "error: misspelled declared point",
  target = { cmd = { "fixtures/bin/chanworker", "--mode", "fixed", "--port", "{port}" },
             ready = { stdout = "READY" } },
  run = function(t)
    t:fault("fl/chan/send/blok", { p = 0.2 })
  end,
}
