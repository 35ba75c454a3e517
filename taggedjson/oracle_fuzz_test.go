package taggedjson

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/coatcheck/coatcheck/pyval"
)

// FuzzDecodeOracle: the decoder agrees with the previous one
// (oracle_decode_test.go) on every input: the same value (same repr, same
// re-encoding) or the same error class at the same offset.
func FuzzDecodeOracle(f *testing.F) {
	if _, err := os.Stat(vectorsPath); err == nil {
		for _, st := range loadVectors(f).Stacks {
			for _, c := range st.Cookies {
				f.Add([]byte(c.JSON))
			}
		}
	}
	for _, c := range flaskAnswers {
		f.Add([]byte(c.in))
	}
	for _, c := range decodeTests {
		f.Add([]byte(c.in))
	}
	f.Add(loggedInJSON)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstOracle(t, data)
	})
}

func checkAgainstOracle(t *testing.T, data []byte) {
	t.Helper()
	got, err := UnmarshalValue(data)
	want, werr := oracleUnmarshalValue(data)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: error %v, oracle %v", data, err, werr)
	}
	if err != nil {
		var de, we *DecodeError
		if !errors.As(err, &de) || !errors.As(werr, &we) || de.Offset != we.Offset || de.Err != we.Err || de.Msg != we.Msg {
			t.Fatalf("%q: error %#v, oracle %#v", data, err, werr)
		}
		return
	}
	if g, w := pyval.Repr(got), pyval.Repr(want); g != w {
		t.Fatalf("%q:\n got    %s\n oracle %s", data, g, w)
	}
	gb, gerr := MarshalValue(got)
	wb, werr2 := MarshalValue(want)
	if string(gb) != string(wb) || (gerr == nil) != (werr2 == nil) {
		t.Fatalf("%q: re-encodes as %s (%v), oracle's as %s (%v)", data, gb, gerr, wb, werr2)
	}
	// A Serializer with a custom tag that matches nothing here takes the
	// general paths (tag table lookups, Tag + raw writer) to the same result.
	cv, err := noopCustom.UnmarshalValue(data)
	if err != nil || pyval.Repr(cv) != pyval.Repr(got) {
		t.Fatalf("%q: custom serializer read %s (%v)", data, pyval.Repr(cv), err)
	}
	cb, cerr := noopCustom.MarshalValue(got)
	if string(cb) != string(gb) || (cerr == nil) != (gerr == nil) {
		t.Fatalf("%q: custom serializer writes %s (%v), default %s (%v)", data, cb, cerr, gb, gerr)
	}
}

var noopCustom = func() *Serializer {
	s := New()
	if err := s.Register(tagPair{" zz"}, false, 0); err != nil {
		panic(err)
	}
	return s
}()

// TestDecodeOracleCorpus runs the differential check over every vector,
// known answer and edge case, plus inputs aimed at the new paths (interned
// keys with escapes, tag objects with duplicate keys, big documents).
func TestDecodeOracleCorpus(t *testing.T) {
	var in []string
	if _, err := os.Stat(vectorsPath); err == nil {
		for _, st := range loadVectors(t).Stacks {
			for _, c := range st.Cookies {
				in = append(in, c.JSON)
			}
		}
	}
	for _, c := range flaskAnswers {
		in = append(in, c.in)
	}
	for _, c := range decodeTests {
		in = append(in, c.in)
	}
	big := `{"k":"` + string(make([]byte, 0)) + `x`
	for len(big) < arenaMax+100 {
		big += "abcdefgh"
	}
	big += `","_id":"y"}`
	in = append(in, string(loggedInJSON), big,
		`{"_permanent":true,"\u005fid":"a","_fl\u0061shes":[{" t":["message","m"]}]}`,
		`{" t":[1],"x":2}`, `{" t":[1]," t":[2]}`, `{" t":1," t":[2]}`, `{" di":{" t__":1}," di":{" b__":"AA=="}}`,
		`{" t":{" t":{" t":[]}}}`, `{"a":{" t":{"z":1,"a":{" di":{" t__":2}}}}}`, `[{" t":[1]} ,{" m":"x"} ]`,
		`{" t" : [1] }`, `{" t":[1]`, `{" t":[1],`, `{" u":"x"}`, `{" b":1,"c":2}`, `{"message":"error","info":"danger"}`)
	for _, n := range []int{MaxDepth - 2, MaxDepth - 1, MaxDepth, MaxDepth + 1} {
		in = append(in, strings.Repeat("[", n)+strings.Repeat("]", n),
			strings.Repeat(`{"a":`, n-1)+`{" t":"ab"}`+strings.Repeat("}", n-1),
			strings.Repeat(`[`, n-1)+`{" di":{" t__":[1]}}`+strings.Repeat("]", n-1),
			strings.Repeat(`{" t":`, n)+"[]"+strings.Repeat("}", n))
	}
	for _, s := range in {
		checkAgainstOracle(t, []byte(s))
	}
}

func BenchmarkOracleUnmarshalLoggedIn(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m, err := oracleUnmarshal(loggedInJSON)
		if err != nil || len(m) != 5 {
			b.Fatal(m, err)
		}
		benchSink = m
	}
}
