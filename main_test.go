package singleinstance_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// childRoleEnv selects a child role when the test binary re-executes itself
// to get real, separate processes (see child_test.go).
const childRoleEnv = "SINGLEINSTANCE_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}
