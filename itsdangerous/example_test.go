package itsdangerous_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/coatcheck/coatcheck/itsdangerous"
)

// Flask's session cookie (FLASK-WIRE §1): the worked example, reproduced
// byte for byte, and read back.
func Example_flaskCookie() {
	ser, err := itsdangerous.NewURLSafeTimedSerializer(itsdangerous.SerializerConfig{
		SecretKeys:    [][]byte{[]byte("dev-secret-key")},
		Salt:          []byte("cookie-session"),
		KeyDerivation: itsdangerous.HMAC,
		Digest:        itsdangerous.SHA1,
	})
	if err != nil {
		panic(err)
	}
	now := time.Unix(1700000000, 0)

	cookie := ser.Dumps([]byte(`{"user_id":42}`), now)
	fmt.Println(string(cookie))

	data, signedAt, err := ser.Loads(cookie, 31*24*time.Hour, now.Add(time.Hour))
	fmt.Println(string(data), signedAt.Format(time.RFC3339), err)
	// Output:
	// eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8
	// {"user_id":42} 2023-11-14T22:13:20Z <nil>
}

// itsdangerous' defaults: Signer("secret").sign("hello").
func ExampleSigner() {
	s, err := itsdangerous.NewSigner(itsdangerous.SignerConfig{
		SecretKeys: [][]byte{[]byte("secret")},
	})
	if err != nil {
		panic(err)
	}
	signed := s.Sign([]byte("hello"))
	fmt.Println(string(signed))

	value, err := s.Unsign(signed)
	fmt.Println(string(value), err)

	_, err = s.Unsign([]byte("hello.8KTthSs1fJgtbigPvFpQH1bpoGA"))
	fmt.Println(err, errors.Is(err, itsdangerous.ErrBadSignature))
	// Output:
	// hello.7KTthSs1fJgtbigPvFpQH1bpoGA
	// hello <nil>
	// itsdangerous: signature does not match true
}

// An expired value reports when it was signed.
func ExampleTimestampSigner_Unsign() {
	ts, err := itsdangerous.NewTimestampSigner(itsdangerous.SignerConfig{
		SecretKeys: [][]byte{[]byte("secret")},
	})
	if err != nil {
		panic(err)
	}
	signed := ts.Sign([]byte("hello"), time.Unix(1700000000, 0))
	fmt.Println(string(signed))

	_, _, err = ts.Unsign(signed, time.Hour, time.Unix(1700000000+3601, 0))
	var expired *itsdangerous.ExpiredError
	if errors.As(err, &expired) {
		fmt.Println(err)
		fmt.Println("signed at", expired.SignedAt.Format(time.RFC3339))
	}
	// Output:
	// hello.ZVPxAA.0pZnxd2yvPSFX93jOV9WdHNP6nk
	// itsdangerous: signature age 3601 > 3600 seconds
	// signed at 2023-11-14T22:13:20Z
}

// Key rotation: keys are listed oldest first; the last one signs, all of
// them verify (Flask ≥ 3.1.1: SECRET_KEY_FALLBACKS, then SECRET_KEY).
func ExampleSignerConfig_rotation() {
	cfg := itsdangerous.SerializerConfig{
		SecretKeys:    [][]byte{[]byte("old-key-1"), []byte("old-key-2"), []byte("new-key")},
		Salt:          []byte("cookie-session"),
		KeyDerivation: itsdangerous.HMAC,
	}
	ser, err := itsdangerous.NewURLSafeTimedSerializer(cfg)
	if err != nil {
		panic(err)
	}
	now := time.Unix(1700000000, 0)

	// A cookie signed with old-key-1 still loads.
	data, _, err := ser.Loads([]byte("eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.R4lA6dRNVyicNFIo_elwwFQn2jw"), time.Hour, now)
	fmt.Println(string(data), err)

	// New cookies are signed with new-key.
	fmt.Println(string(ser.Dumps([]byte(`{"n":1}`), now)))
	// Output:
	// {"user_id":42} <nil>
	// eyJuIjoxfQ.ZVPxAA.DQU8FBhvGKlenRTo0yzn_mKIaks
}

// Flask's derived key for "dev-secret-key".
func ExampleDeriveKey() {
	dk, err := itsdangerous.DeriveKey(itsdangerous.HMAC, itsdangerous.SHA1,
		[]byte("cookie-session"), []byte("dev-secret-key"))
	fmt.Printf("%x %v\n", dk, err)
	// Output:
	// 71009d16d198ed703005b52dd74858969d57a0be <nil>
}

// Telling the four failure kinds apart, most specific first.
func Example_classifyErrors() {
	ser, err := itsdangerous.NewURLSafeTimedSerializer(itsdangerous.SerializerConfig{
		SecretKeys:    [][]byte{[]byte("dev-secret-key")},
		Salt:          []byte("cookie-session"),
		KeyDerivation: itsdangerous.HMAC,
	})
	if err != nil {
		panic(err)
	}
	classify := func(err error) string {
		switch {
		case err == nil:
			return "ok"
		case errors.Is(err, itsdangerous.ErrBadPayload):
			return "bad payload"
		case errors.Is(err, itsdangerous.ErrSignatureExpired):
			return "expired"
		case errors.Is(err, itsdangerous.ErrMalformed):
			return "malformed"
		default:
			return "bad signature"
		}
	}
	now := time.Unix(1700000000, 0)
	for _, v := range []string{
		"eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-u8",
		"eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.tfs1XJDK6i-qRamcxAFwBWdY-uA",
		"eyJ1c2VyX2lkIjo0Mn0.ZSsSfw.tmU2glo_wKqKw__NIsPG8hfXPaA",
		"garbage",
		".eyJ1c2VyX2lkIjo0Mn0.ZVPxAA.JG9iQ-B6IOuwvfZkm9a38pVkG_k",
	} {
		_, _, err := ser.Loads([]byte(v), 31*24*time.Hour, now)
		fmt.Println(classify(err))
	}
	// Output:
	// ok
	// bad signature
	// expired
	// malformed
	// bad payload
}
