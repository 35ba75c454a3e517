package flaskcookie_test

import (
	"fmt"
	"time"

	"github.com/coatcheck/coatcheck/flaskcookie"
)

// The cookie Flask sets for session["user_id"] = 42 with SECRET_KEY
// "dev-secret-key" at Unix time 1700000000.
func Example() {
	codec, err := flaskcookie.New(flaskcookie.Config{SecretKey: []byte("dev-secret-key")})
	if err != nil {
		panic(err)
	}
	now := time.Unix(1700000000, 0)
	value, _ := codec.Encode(map[string]any{"user_id": 42}, now)
	fmt.Println(value)

	session, _, err := codec.Decode(value, now)
	fmt.Println(session["user_id"], err)
	// Output:
	// eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8
	// 42 <nil>
}
