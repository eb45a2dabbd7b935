package etcd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// valueFormat names the format of the values this package stores.
const valueFormat = "singleinstance-etcd/1"

// maxValueSize bounds the values this package reads.
const maxValueSize = singleinstance.MaxInfoSize

// record is the JSON value of a holder's key, and of a fence key.
type record struct {
	Format string                 `json:"format"`
	Holder *singleinstance.Holder `json:"holder"`
	// TTL is the holder's lease TTL in seconds.
	TTL int64 `json:"ttl"`
	// FencedAt is set in a fence key: when a forced stop took the lock
	// from the holder described.
	FencedAt time.Time `json:"fenced_at,omitzero"`
	// Until is when a fence key expires, at the latest.
	Until time.Time `json:"until,omitzero"`
}

// encodeRecord renders a holder's record.
func encodeRecord(r record) string {
	r.Format = valueFormat
	data, err := json.Marshal(r)
	if err != nil {
		// Holder holds only strings, numbers and times.
		panic(fmt.Sprintf("singleinstance/etcd: encode holder: %v", err))
	}
	return string(data)
}

// decodeRecord parses a key's value; the token is the key's create
// revision, whatever the value says.
func decodeRecord(kv *mvccpb.KeyValue) (*record, error) {
	if len(kv.Value) > maxValueSize {
		return nil, fmt.Errorf("singleinstance/etcd: %w: %s holds %d bytes", singleinstance.ErrCorruptInfo, kv.Key, len(kv.Value))
	}
	var r record
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return nil, fmt.Errorf("singleinstance/etcd: %w: %s: %w", singleinstance.ErrCorruptInfo, kv.Key, err)
	}
	if r.Format != valueFormat || r.Holder == nil {
		return nil, fmt.Errorf("singleinstance/etcd: %w: %s is not a %s record", singleinstance.ErrCorruptInfo, kv.Key, valueFormat)
	}
	return &r, nil
}
