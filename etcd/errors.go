package etcd

import (
	"context"
	"errors"
	"fmt"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// unavailable wraps an error from a request to etcd (what says what was
// being done) so that it matches singleinstance.ErrUnavailable, unless the
// cluster answered with a refusal that no retry changes (such as bad
// credentials or permissions), which stays as it is.
func (b *Backend) unavailable(what string, err error) error {
	var rpcErr rpctypes.EtcdError
	if errors.As(err, &rpcErr) && permanent(rpcErr) {
		return fmt.Errorf("singleinstance/etcd: %s: %w", what, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("singleinstance/etcd: %s: %w", what, err)
	}
	return fmt.Errorf("singleinstance/etcd: %s (%s): %w: %w", what, b.where, singleinstance.ErrUnavailable, err)
}

// permanent reports whether an etcd error is a refusal rather than an
// outage.
func permanent(err rpctypes.EtcdError) bool {
	switch err {
	case rpctypes.ErrUserEmpty, rpctypes.ErrAuthFailed, rpctypes.ErrPermissionDenied,
		rpctypes.ErrInvalidAuthToken, rpctypes.ErrAuthNotEnabled, rpctypes.ErrUserNotFound,
		rpctypes.ErrPermissionNotGranted, rpctypes.ErrRoleNotGranted,
		rpctypes.ErrKeyNotFound, rpctypes.ErrTooManyOps, rpctypes.ErrRequestTooLarge:
		return true
	}
	return false
}
