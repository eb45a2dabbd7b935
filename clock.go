package singleinstance

import "time"

// timeNow returns the wall-clock time without its monotonic reading, so that
// it formats and compares like a time read back from a file.
func timeNow() time.Time { return time.Now().Round(0) }
