// Plain is the shortest way to make a program refuse to run twice: one call
// at the top of main, like the old SingleInstance('trading_bot').
//
// Start it, then start it again from another terminal (or another
// directory): the second copy prints who holds the lock and exits with
// status 1. Stop the first with Ctrl+C.
//
//	go run ./examples/plain
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/singleinstance/singleinstance"
)

func main() {
	// A second copy prints the holder's details and exits here.
	inst := singleinstance.AcquireOrExit("trading_bot")

	// The bot's work would go here; this one just waits for Ctrl+C. Without
	// this signal handling Ctrl+C would end the process at once: the kernel
	// still frees the lock, but the .pid and .info files would stay behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer inst.Release() // runs before stop, while signals are still caught

	fmt.Printf("trading_bot running as pid %d (lock %s)\n", os.Getpid(), inst.LockPath())
	<-ctx.Done()
	fmt.Println("stopping")
}
