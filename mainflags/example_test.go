package mainflags_test

import (
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/mainflags"
)

func ExampleRegister() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// A real program passes flag.CommandLine, calls flag.Parse, and then
	// flags.HandleAndExit("trading_bot") before taking the lock.
	fs := flag.NewFlagSet("trading_bot", flag.ExitOnError)
	flags := mainflags.Register(fs)
	fs.Parse([]string{"-check-instance"})

	code, handled := flags.Handle("trading_bot", singleinstance.WithLockDir(dir))
	fmt.Println("handled:", handled)
	fmt.Println("exit code:", code)
	// Output:
	// Application 'trading_bot': NOT RUNNING
	// handled: true
	// exit code: 1
}

func ExampleFlags_Handle() {
	dir, err := os.MkdirTemp("", "singleinstance-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	opt := singleinstance.WithLockDir(dir)

	fs := flag.NewFlagSet("trading_bot", flag.ExitOnError)
	flags := mainflags.Register(fs)
	fs.Parse([]string{"--kill-instance"}) // one dash or two

	code, handled := flags.Handle("trading_bot", opt)
	fmt.Println("handled:", handled, "exit code:", code)

	// Without -check-instance or -kill-instance, Handle does nothing and
	// the program goes on to take the lock.
	fs = flag.NewFlagSet("trading_bot", flag.ExitOnError)
	flags = mainflags.Register(fs)
	fs.Parse(nil)
	code, handled = flags.Handle("trading_bot", opt)
	fmt.Println("handled:", handled, "exit code:", code)
	// Output:
	// Application 'trading_bot': NOT RUNNING
	// handled: true exit code: 1
	// handled: false exit code: 0
}
