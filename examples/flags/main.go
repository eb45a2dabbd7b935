// Flags gives a program the command-line flags of the old main.py in two
// lines: mainflags.Register before flag.Parse, and HandleAndExit after it.
//
//	go run ./examples/flags                                # run; a second copy is refused
//	go run ./examples/flags --check-instance               # exit 0 if running, 1 if not
//	go run ./examples/flags --kill-instance                # SIGTERM the running copy; 0 if stopped, 1 if not
//	go run ./examples/flags --kill-instance --force-kill   # the same with SIGKILL
//
// Without -check-instance or -kill-instance, HandleAndExit returns and the
// program takes the lock and works until Ctrl+C or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/mainflags"
)

func main() {
	flags := mainflags.Register(flag.CommandLine)
	flag.Parse()
	flags.HandleAndExit("trading_bot") // exits here with -check-instance or -kill-instance

	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "trading_bot:", err)
		os.Exit(1)
	}
}

// run holds the lock while the bot works, until Ctrl+C or SIGTERM.
func run() error {
	// A second copy prints the holder's details and exits here.
	inst := singleinstance.AcquireOrExit("trading_bot")

	// Catch Ctrl+C and SIGTERM (what -kill-instance sends), so the deferred
	// Release runs instead of the process dying at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer inst.Release() // runs before stop, while signals are still caught

	fmt.Printf("trading_bot running as pid %d\n", os.Getpid())
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println("stopping")
			return nil
		case <-inst.Lost():
			return inst.Err() // another copy may be running: stop at once
		case <-tick.C:
			fmt.Println("working")
		}
	}
}
