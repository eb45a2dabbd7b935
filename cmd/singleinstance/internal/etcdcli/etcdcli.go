// Package etcdcli connects the singleinstance command to etcd. Only the
// singleinstance-etcd binary (and tests) link it, so that the lean
// singleinstance binary starts without the etcd client's weight.
package etcdcli

import (
	"context"
	"errors"
	"log/slog"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
	"github.com/singleinstance/singleinstance/etcd"
)

// Connect is an etcdflags.Connector on the etcd module.
func Connect(ctx context.Context, s etcdflags.Settings, logger *slog.Logger) (etcdflags.Backend, error) {
	b, err := etcd.Dial(ctx, etcd.Config{
		Endpoints:   s.Endpoints,
		CACert:      s.CACert,
		Cert:        s.Cert,
		Key:         s.Key,
		Username:    s.Username,
		Password:    s.Password,
		DialTimeout: s.DialTimeout,
	},
		etcd.WithPrefix(s.Prefix),
		etcd.WithTTL(s.TTL),
		etcd.WithLogger(logger),
		etcd.WithStopHint(s.StopHint))
	if errors.Is(err, etcd.ErrInvalidConfig) {
		return nil, etcdflags.Invalid(err)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}
