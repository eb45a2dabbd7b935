// Command linked starts and exits at once, linking everything the
// singleinstance command links (its command-line package, and through it
// the library and the command tree) and running their initialisation. The CLI
// benchmarks measure it as contender "golinked": the start-up floor of any
// command built on these packages, above an empty Go program's.
package main

import _ "github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"

func main() {}
