package tscheck

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }
