package pickle_test

import (
	"errors"
	"fmt"

	"github.com/coatcheck/coatcheck/pickle"
	"github.com/coatcheck/coatcheck/pyval"
)

func Example() {
	// What Flask-Session 0.3 stores in Redis (pickle protocol 4).
	stored := []byte("\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\n_permanent\x94\x88\x8c\x07user_id\x94K*u.")
	v, err := pickle.Unmarshal(stored)
	if err != nil {
		panic(err)
	}
	session := v.(map[string]any)
	fmt.Println(pyval.Repr(session), session["user_id"].(int64))

	// Written back for python-memcached (protocol 0), byte for byte what
	// Python writes.
	out, err := pickle.Marshal(session, 0)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", out)

	// A pickle that would run code in Python is refused.
	_, err = pickle.Unmarshal([]byte("cos\nsystem\n(S'echo pwned'\ntR."))
	fmt.Println(errors.Is(err, pickle.ErrForbiddenGlobal))
	fmt.Println(err)
	// Output:
	// {'_permanent': True, 'user_id': 42} 42
	// "(dp0\nV_permanent\np1\nI01\nsVuser_id\np2\nI42\ns."
	// true
	// pickle: forbidden global at offset 0 (opcode GLOBAL 'c'): global "os.system" is not allowed
}
