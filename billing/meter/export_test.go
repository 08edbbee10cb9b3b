package meter

// SetTestHook makes the Meter call f at each named point of Add and of a
// flush ("add", "record", "recorded", "sealed", "claimed", "send",
// "answered"): the crash test stops the process there. Set it before the
// Meter starts.
func SetTestHook(f func(point string)) { testHook = f }
