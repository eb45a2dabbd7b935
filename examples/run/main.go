// Run hands the whole program to singleinstance.Run, the callback form: the
// lock is taken before bot starts and released when it returns, and bot's
// context is cancelled on SIGINT or SIGTERM and if the lock is lost.
//
// Start it twice; the second copy prints the holder's details report and
// exits with status 1. Stop the first with Ctrl+C or kill PID.
//
//	go run ./examples/run
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/singleinstance/singleinstance"
)

func main() {
	err := singleinstance.Run("trading_bot", bot)
	var conflict *singleinstance.AlreadyRunningError
	switch {
	case errors.As(err, &conflict):
		fmt.Fprint(os.Stderr, conflict.Report())
		os.Exit(singleinstance.ExitAlreadyRunning)
	case err != nil:
		fmt.Fprintln(os.Stderr, "trading_bot:", err)
		os.Exit(1)
	}
}

// bot works until its context is cancelled. Returning nil after a lost
// lock is fine: Run then returns the ErrLockLost error itself.
func bot(ctx context.Context) error {
	fmt.Printf("trading_bot running as pid %d\n", os.Getpid())
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println("stopping:", context.Cause(ctx))
			return nil
		case <-tick.C:
			fmt.Println("working")
		}
	}
}
