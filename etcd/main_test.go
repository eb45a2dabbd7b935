package etcd_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childRoleEnv makes the test binary act as another host's process (see
// child_test.go) instead of running tests.
const childRoleEnv = "SINGLEINSTANCE_ETCD_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}
