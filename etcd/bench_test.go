package etcd_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// BenchmarkAcquireRelease measures an uncontended New and Release over
// etcd: a lease grant, the acquiring transaction, the watches, the
// guarded delete and the revocation.
func BenchmarkAcquireRelease(b *testing.B) {
	c := etcdtest.Start(b)
	backend := host(b, c, c.Prefix(b))
	opt := singleinstance.WithBackend(backend)
	for b.Loop() {
		inst, err := singleinstance.New(testName, opt)
		if err != nil {
			b.Fatal(err)
		}
		if err := inst.Release(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandoff measures how long a standby, waiting on its own client
// as if on another host, takes to hold the lock after the holder releases
// it. It reports the median and 99th percentile.
func BenchmarkHandoff(b *testing.B) {
	c := etcdtest.Start(b)
	prefix := c.Prefix(b)
	waiting := make(chan struct{}, 1)
	logger := slog.New(&signalHandler{msg: "singleinstance/etcd: waiting for the lock", ch: waiting})
	hosts := [2]*etcd.Backend{host(b, c, prefix, etcd.WithLogger(logger)), host(b, c, prefix, etcd.WithLogger(logger))}
	holder, err := singleinstance.New(testName, singleinstance.WithBackend(hosts[0]))
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		got := standBy(context.Background(), hosts[i%2], testName)
		<-waiting
		released := time.Now()
		if err := holder.Release(); err != nil {
			b.Fatal(err)
		}
		r := <-got
		if r.err != nil {
			b.Fatal(r.err)
		}
		lat = append(lat, r.at.Sub(released))
		holder = r.inst
	}
	holder.Release()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
