package etcd_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A trading bot deployed on several hosts: whichever host takes the lock
// trades; the others wait as hot standbys. The examples need an etcd
// cluster, so they are compiled but not run.
func Example() {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{"etcd1:2379", "etcd2:2379", "etcd3:2379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	backend, err := etcd.New(client, etcd.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	err = singleinstance.Run("trading-bot", func(ctx context.Context) error {
		// Trade until ctx is done: SIGTERM, a stop request from another
		// host, or a lost lease (context.Cause tells which).
		<-ctx.Done()
		return nil
	}, singleinstance.WithBackend(backend), singleinstance.WithTimeout(-1))
	if err != nil {
		log.Fatal(err)
	}
}

// Dial reads the same settings as the CLI from the environment.
func ExampleDial() {
	ctx := context.Background()
	backend, err := etcd.Dial(ctx, etcd.ConfigFromEnv())
	if errors.Is(err, singleinstance.ErrUnavailable) {
		log.Fatalf("etcd cannot be reached; whether the bot runs is unknown: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer backend.Close()
	st, err := singleinstance.Status("trading-bot", singleinstance.WithBackend(backend))
	if err != nil {
		log.Fatal(err)
	}
	if st.Running && st.Holder != nil {
		log.Printf("trading-bot runs on %s as pid %d", st.Holder.Host, st.Holder.PID)
	}
}

// Guard state with the fencing token: a holder that lost the lock cannot
// record an order intent, even before it learns of the loss.
func ExampleBackend_IsOwner() {
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{"etcd1:2379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	backend, err := etcd.New(client)
	if err != nil {
		log.Fatal(err)
	}
	inst, err := singleinstance.New("trading-bot", singleinstance.WithBackend(backend))
	if err != nil {
		log.Fatal(err)
	}
	defer inst.Release()
	ctx := context.Background()
	resp, err := client.Txn(ctx).
		If(backend.IsOwner("trading-bot", inst.Token())).
		Then(clientv3.OpPut("/trading-bot/intent", "buy 1 BTC")).
		Commit()
	if err != nil {
		log.Fatal(err)
	}
	if !resp.Succeeded {
		log.Fatal("not the holder any more: do not send the order")
	}
	// Send the order, with a client order ID built from inst.Token().
}
