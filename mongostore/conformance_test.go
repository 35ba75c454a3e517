package mongostore_test

import (
	"testing"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/mongostore"
	"github.com/coatcheck/coatcheck/storetest"
)

// Compile-time checks that Store implements the contract and every optional
// interface.
var (
	_ coatcheck.Store      = (*mongostore.Store)(nil)
	_ coatcheck.Toucher    = (*mongostore.Store)(nil)
	_ coatcheck.GetToucher = (*mongostore.Store)(nil)
	_ coatcheck.Iterator   = (*mongostore.Store)(nil)
	_ coatcheck.Cleaner    = (*mongostore.Store)(nil)

	_ coatcheck.CompareAndSetter = (*mongostore.Store)(nil)
)

func TestConformance(t *testing.T) {
	storetest.RequireEnv(t, "COATCHECK_MONGO_URL")
	storetest.Run(t, func(t *testing.T) coatcheck.Store {
		s, _ := openStore(t, newColl(t))
		return s
	})
}
