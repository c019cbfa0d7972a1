package larder_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Background revalidations start goroutines; none may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
