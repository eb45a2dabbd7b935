// Deferred takes the lock with New, releases it with defer, and handles a
// second start itself instead of letting the library exit: the form to use
// when main has its own error handling.
//
// Start it twice; the second copy prints the holder's details report and
// exits with status 1. Stop the first with Ctrl+C.
//
//	go run ./examples/deferred
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/singleinstance/singleinstance"
)

func main() {
	err := run()
	var conflict *singleinstance.AlreadyRunningError
	switch {
	case errors.As(err, &conflict):
		fmt.Fprint(os.Stderr, conflict.Report())
		os.Exit(singleinstance.ExitAlreadyRunning)
	case err != nil:
		fmt.Fprintln(os.Stderr, "Cannot start:", err)
		os.Exit(singleinstance.ExitLockError)
	}
}

func run() error {
	// Catch Ctrl+C and SIGTERM before taking the lock, so that the deferred
	// Release runs before stop restores their default (killing) action.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	inst, err := singleinstance.New("trading_bot")
	if err != nil {
		return err
	}
	defer inst.Release()

	fmt.Printf("trading_bot running as pid %d, fencing token %d\n", os.Getpid(), inst.Token())
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println("stopping:", context.Cause(ctx))
			return nil
		case <-inst.Lost():
			return inst.Err() // another copy may be running: stop at once
		case <-tick.C:
			fmt.Println("working")
		}
	}
}
