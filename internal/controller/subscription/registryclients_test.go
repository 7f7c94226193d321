package subscription

import (
	"fmt"
	"testing"
)

// The registry Clients kept, one per set of pull secrets, are bounded: a
// rotated secret is a new set, and past the bound the set used longest ago
// is forgotten; a set used again is kept and gets the same Client.
func TestRegistryClientsAreBounded(t *testing.T) {
	r := newRegistryClients(nil, 0, nil)
	r.max = 2
	secret := func(n int) [][]byte {
		return [][]byte{[]byte(fmt.Sprintf(`{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNzd29yZC0lZA==","n":%d}}}`, n))}
	}
	first, err := r.For(secret(1))
	must(t, err)
	_, err = r.For(secret(2))
	must(t, err)
	again, err := r.For(secret(1)) // 1 is now the most recently used
	must(t, err)
	if again != first {
		t.Error("the same pull secrets got another Client")
	}
	_, err = r.For(secret(3)) // forgets 2
	must(t, err)
	if n := len(r.clients); n != 2 {
		t.Errorf("%d Clients kept, want 2", n)
	}
	kept, err := r.For(secret(1))
	must(t, err)
	if kept != first {
		t.Error("the most recently used set of pull secrets was forgotten")
	}
	if n := len(r.clients); n != 2 {
		t.Errorf("%d Clients kept after reusing one, want 2", n)
	}
}
