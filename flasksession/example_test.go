package flasksession_test

import (
	"fmt"

	"github.com/coatcheck/coatcheck/flasksession"
)

func ExampleMsgpack() {
	b, err := flasksession.Msgpack.Encode(map[string]any{"_permanent": true, "user_id": 42})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	m, _ := flasksession.Msgpack.Decode(b)
	fmt.Println(m["user_id"])
	// Output:
	// 82 aa 5f 70 65 72 6d 61 6e 65 6e 74 c3 a7 75 73 65 72 5f 69 64 2a
	// 42
}

func ExampleJSON() {
	b, _ := flasksession.JSON.Encode(map[string]any{"user_id": 42, "_permanent": true, "b": []byte("hi"), "f": 1e16})
	fmt.Println(string(b))
	// Output: {"_permanent":true,"b":"aGk=","f":1e16,"user_id":42}
}

func ExampleCodecFor() {
	c, _ := flasksession.CodecFor("msgpack")
	// A value Flask-Session 0.3.2 stored in Redis (pickle protocol 4) is
	// read through the fallback chain...
	old := []byte("\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\n_permanent\x94\x88\x8c\x07user_id\x94K*u.")
	m, err := c.Decode(old)
	fmt.Println(m["user_id"], err)
	// ...and written back as msgpack.
	b, _ := c.Encode(m)
	fmt.Printf("%x\n", b)
	// Output:
	// 42 <nil>
	// 82aa5f7065726d616e656e74c3a7757365725f69642a
}

func ExampleProfileFor() {
	for _, v := range []string{"0.3", "0.8"} {
		for _, backend := range []string{"redis", "memcached", "filesystem"} {
			p, _ := flasksession.ProfileFor(v, backend)
			fmt.Println(v, backend, p.Serialization, p.PickleProtocol, p.IDStyle, p.IDLength)
		}
	}
	// Output:
	// 0.3 redis pickle 2 uuid4 0
	// 0.3 memcached pickle 0 uuid4 0
	// 0.3 filesystem pickle 2 uuid4 0
	// 0.8 redis msgpack 2 token_urlsafe 32
	// 0.8 memcached msgpack 2 token_urlsafe 32
	// 0.8 filesystem pickle 2 token_urlsafe 32
}

func ExampleValidID() {
	id, _ := flasksession.NewID(flasksession.TokenURLSafe, 32)
	fmt.Println(len(id), flasksession.ValidID(id))
	fmt.Println(flasksession.ValidID("00000000-0000-4000-8000-000000000011"))
	fmt.Println(flasksession.ValidID("../etc passwd"))
	// Output:
	// 43 true
	// true
	// false
}
