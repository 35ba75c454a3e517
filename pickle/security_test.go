package pickle

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// sg builds a protocol 4 STACK_GLOBAL reference.
func sg(module, name string) string {
	return "\x8c" + string(rune(len(module))) + module + "\x8c" + string(rune(len(name))) + name + "\x93"
}

func TestForbiddenGlobals(t *testing.T) {
	tests := []struct {
		name, pickle, global string
	}{
		{"proto0 os.system", "cos\nsystem\n(S'echo pwned'\ntR.", "os.system"},
		{"proto0 posix.system", "cposix\nsystem\np0\n(Vid\np1\ntp2\nRp3\n.", "posix.system"},
		{"proto0 nt.system", "cnt\nsystem\n(Vdir\ntR.", "nt.system"},
		{"proto0 py2 eval", "c__builtin__\neval\n(S'1+1'\ntR.", "__builtin__.eval"},
		{"proto1 subprocess", "csubprocess\nPopen\nq\x00(X\x02\x00\x00\x00lsq\x01tq\x02Rq\x03.", "subprocess.Popen"},
		{"proto2 builtins.eval", "\x80\x02cbuiltins\neval\nq\x00X\x03\x00\x00\x001+1q\x01\x85q\x02Rq\x03.", "builtins.eval"},
		{"proto2 builtins.exec", "\x80\x02cbuiltins\nexec\nX\x01\x00\x00\x00x\x85R.", "builtins.exec"},
		{"proto2 getattr", "\x80\x02cbuiltins\ngetattr\n.", "builtins.getattr"},
		{"proto2 __import__", "\x80\x02cbuiltins\n__import__\nX\x02\x00\x00\x00os\x85R.", "builtins.__import__"},
		{"proto2 copyreg other", "\x80\x02ccopyreg\n__newobj__\n.", "copyreg.__newobj__"},
		{"proto3 pickle.loads", "\x80\x03cpickle\nloads\nC\x02N.\x85R.", "pickle.loads"},
		{"proto4 os.system", "\x80\x04" + sg("os", "system") + "\x8c\x02id\x85R.", "os.system"},
		{"proto4 builtins.eval", "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00" + sg("builtins", "eval") + "\x94\x8c\x031+1\x85R.", "builtins.eval"},
		{"proto5 subprocess.run", "\x80\x05" + sg("subprocess", "run") + "\x8c\x02ls\x85R.", "subprocess.run"},
		{"proto4 posix.system", "\x80\x04" + sg("posix", "system") + "\x8c\x02id\x85R.", "posix.system"},
		{"proto4 dotted name", "\x80\x04" + sg("datetime", "datetime.__class__") + ".", "datetime.datetime.__class__"},
		{"proto4 similar module", "\x80\x04" + sg("datetime2", "datetime") + ".", "datetime2.datetime"},
		{"INST os.system", "(S'ls'\nios\nsystem\n.", "os.system"},
		{"NEWOBJ of forbidden class", "\x80\x02cos\n_wrap_close\n)\x81.", "os._wrap_close"},
	}
	for _, tt := range tests {
		_, err := Unmarshal([]byte(tt.pickle))
		if !errors.Is(err, ErrForbiddenGlobal) {
			t.Errorf("%s: err = %v, want ErrForbiddenGlobal", tt.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.global) || !strings.HasPrefix(err.Error(), "pickle:") {
			t.Errorf("%s: error %q does not name %s", tt.name, err, tt.global)
		}
	}
	for _, p := range []string{"\x80\x02\x82\x01.", "\x80\x02\x83\x01\x00.", "\x80\x02\x84\x01\x00\x00\x00."} {
		if _, err := Unmarshal([]byte(p)); !errors.Is(err, ErrForbiddenGlobal) {
			t.Errorf("EXT %q: err = %v, want ErrForbiddenGlobal", p, err)
		}
	}
}

// TestForbiddenFromPython: what CPython writes for an object whose
// __reduce__ calls os.system is refused at every protocol.
func TestForbiddenFromPython(t *testing.T) {
	py := python(t)
	out := runPython(t, py, `
import os, subprocess
class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))
class Evil2:
    def __reduce__(self):
        return (subprocess.check_output, (["id"],))
for p in range(6):
    print(pickle.dumps({"ok": 1, "x": [Evil()]}, p).hex())
    print(pickle.dumps(Evil2(), p).hex())
`, nil)
	for _, line := range strings.Fields(string(out)) {
		data := make([]byte, len(line)/2)
		if _, err := hexDecode(data, line); err != nil {
			t.Fatal(err)
		}
		_, err := Unmarshal(data)
		if !errors.Is(err, ErrForbiddenGlobal) || !(strings.Contains(err.Error(), "system") || strings.Contains(err.Error(), "check_output")) {
			t.Errorf("%q: err = %v, want ErrForbiddenGlobal naming the function", data, err)
		}
	}
}

func hexDecode(dst []byte, s string) (int, error) { return hex.Decode(dst, []byte(s)) }

func TestRefusedOpcodes(t *testing.T) {
	for name, p := range map[string]string{
		"PERSID":          "P1\n.",
		"BINPERSID":       "\x80\x02K\x01Q.",
		"OBJ":             "(cdatetime\ndate\nK\x01K\x01K\x01o.",
		"INST allowed":    "(K\x01K\x01K\x01idatetime\ndate\n.",
		"NEXT_BUFFER":     "\x80\x05\x97.",
		"READONLY_BUFFER": "\x80\x05\x97\x98.",
		"bare global":     "\x80\x02cdatetime\ndatetime\n.",
		"bare timedelta":  "\x80\x02cdatetime\ntimedelta\nK\x01\x85R.",
		"bare timezone":   "\x80\x02cdatetime\ntimezone\ncdatetime\ntimedelta\nK\x00\x85R\x85R.",
		"tuple key":       "\x80\x02}K\x01\x85K\x02s.",
		"None key":        "\x80\x02}NK\x02s.",
		"recursive list":  "\x80\x02]q\x00h\x00a.",
		"recursive dict":  "\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.",
		"recursive tuple": "\x80\x02]q\x00h\x00\x85q\x01a.",
		"reconstructor":   "ccopy_reg\n_reconstructor\n(cdatetime\ndate\nc__builtin__\nobject\nNtR.",
		"NEWOBJ_EX kw":    "\x80\x04" + sg("uuid", "UUID") + ")}K\x01K\x01s\x92.",
		"Markup(int)":     "\x80\x02cmarkupsafe\nMarkup\nK\x01\x85R.",
	} {
		_, err := Unmarshal([]byte(p))
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}

func TestMalformed(t *testing.T) {
	u32 := func(n uint32) string { return string(binary.LittleEndian.AppendUint32(nil, n)) }
	u64 := func(n uint64) string { return string(binary.LittleEndian.AppendUint64(nil, n)) }
	for name, p := range map[string]string{
		"empty":               "",
		"no STOP":             "\x80\x02K\x01",
		"STOP on empty stack": ".",
		"unknown opcode":      "\xff.",
		"protocol 6":          "\x80\x06N.",
		"BINUNICODE 4GB":      "\x80\x04X" + u32(0xffffffff) + "abc.",
		"BINUNICODE8 huge":    "\x80\x04\x8d" + u64(1<<62) + "abc.",
		"BINUNICODE8 max":     "\x80\x04\x8d" + u64(^uint64(0)) + "abc.",
		"BINBYTES8 huge":      "\x80\x04\x8e" + u64(1<<63) + "abc.",
		"BYTEARRAY8 huge":     "\x80\x05\x96" + u64(1<<40) + "abc.",
		"BINBYTES 4GB":        "\x80\x03B" + u32(0xfffffff0) + "abc.",
		"BINSTRING negative":  "T" + u32(0x80000000) + "abc.",
		"LONG4 huge":          "\x80\x02\x8b" + u32(0x7fffffff) + "abc.",
		"LONG4 negative":      "\x80\x02\x8b" + u32(0xffffffff) + "abc.",
		"FRAME huge":          "\x80\x04\x95" + u64(^uint64(0)) + "N.",
		"GET missing":         "\x80\x02h\x05.",
		"LONG_BINGET missing": "\x80\x02j" + u32(0xffffffff) + ".",
		"PUT empty stack":     "\x80\x02q\x00.",
		"bad PUT":             "Np-1\n.",
		"POP empty":           "0.",
		"APPEND to int":       "K\x01K\x02a.",
		"SETITEM to list":     "]K\x01K\x02s.",
		"odd SETITEMS":        "}(K\x01u.",
		"odd DICT":            "(K\x01d.",
		"no MARK":             "K\x01t.",
		"underflow past MARK": "K\x01(\x85.",
		"bad INT":             "I12x\n.",
		"leading zero INT":    "I012\n.",
		"bad LONG":            "L12x3L\n.",
		"bad FLOAT":           "F1.5x\n.",
		"FLOAT overflow":      "F1e999\n.",
		"unquoted STRING":     "Sabc\n.",
		"bad STRING escape":   "S'ab\\x4'\n.",
		"bad \\u escape":      "Vab\\u12\n.",
		"huge \\U escape":     "V\\U00110000\n.",
		"invalid UTF-8":       "\x80\x02X\x02\x00\x00\x00\xff\xfe.",
		"STACK_GLOBAL ints":   "\x80\x04K\x01K\x02\x93.",
		"REDUCE non-tuple":    "\x80\x02cdatetime\ndate\nK\x01R.",
		"date bad state":      "\x80\x03cdatetime\ndate\nC\x03abc\x85R.",
		"date Feb 30":         "\x80\x03cdatetime\ndate\nC\x04\x07\xe8\x02\x1e\x85R.",
		"datetime bad hour":   "\x80\x03cdatetime\ndatetime\nC\x0a\x07\xe8\x01\x02\x18\x00\x00\x00\x00\x00\x85R.",
		"timezone 24h":        "\x80\x02cdatetime\ndatetime\nC\x0a\x07\xe8\x01\x02\x03\x00\x00\x00\x00\x00cdatetime\ntimezone\ncdatetime\ntimedelta\nK\x01\x85R\x85R\x86R.",
		"UUID without BUILD":  "\x80\x02cuuid\nUUID\n)\x81.",
		"UUID int too big":    "\x80\x02cuuid\nUUID\n)\x81}X\x03\x00\x00\x00int\x8a\x11" + strings.Repeat("\xff", 16) + "\x01sb.",
		"bad Decimal":         "\x80\x02cdecimal\nDecimal\nX\x03\x00\x00\x00abc\x85R.",
		"latin1 overflow":     "\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x9c\x93X\x06\x00\x00\x00latin1\x86R.",
		"MARK left, no STOP":  "(",
	} {
		_, err := Unmarshal([]byte(p))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestErrorDetails(t *testing.T) {
	_, err := Unmarshal([]byte("\x80\x04X\xff\xff\xff\xffabc."))
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, not *Error", err)
	}
	if pe.Offset != 2 || pe.Opcode != 'X' || !errors.Is(err, ErrMalformed) {
		t.Errorf("got offset %d opcode %q", pe.Offset, pe.Opcode)
	}
	want := "pickle: malformed pickle at offset 2 (opcode BINUNICODE 'X'): pickle data was truncated: length 4294967295 exceeds the 4 bytes left"
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
}

// TestHugeLengthsDoNotAllocate: a length field claiming gigabytes in a tiny
// input fails without allocating anything like it.
func TestHugeLengthsDoNotAllocate(t *testing.T) {
	inputs := []string{
		"\x80\x04X\xff\xff\xff\xffabc.",
		"\x80\x04\x8d\x00\x00\x00\x00\x01\x00\x00\x00abc.",
		"\x80\x05\x96\x00\x00\x00\x00\x01\x00\x00\x00abc.",
		"\x80\x02\x8b\xff\xff\xff\x7fabc.",
		"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f.",
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, in := range inputs {
		if _, err := Unmarshal([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("allocated %d bytes for tiny hostile inputs", d)
	}
}

func TestTruncatedVectors(t *testing.T) {
	_, pickles := loadVectors(t)
	for _, p := range pickles {
		for n := 0; n < len(p.data); n++ {
			if _, err := Unmarshal(p.data[:n]); err == nil {
				t.Errorf("%s: prefix of %d bytes decoded without error", p.key, n)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	// containers nested deeper than MaxDepth
	deep := []byte("\x80\x02")
	for i := 0; i < 2000; i++ {
		deep = append(deep, ']')
	}
	for i := 0; i < 1999; i++ {
		deep = append(deep, 'a')
	}
	deep = append(deep, '.')
	if _, err := Unmarshal(deep); !errors.Is(err, ErrLimit) {
		t.Errorf("deep nesting: err = %v, want ErrLimit", err)
	}
	if _, err := UnmarshalOptions(deep, Options{MaxDepth: 3000}); err != nil {
		t.Errorf("deep nesting with MaxDepth 3000: %v", err)
	}
	// stack / marks
	if _, err := UnmarshalOptions(bytes.Repeat([]byte("("), 5000), Options{MaxStack: 1000}); !errors.Is(err, ErrLimit) {
		t.Errorf("marks: err = %v, want ErrLimit", err)
	}
	if _, err := UnmarshalOptions(bytes.Repeat([]byte("N"), 5000), Options{MaxStack: 1000}); !errors.Is(err, ErrLimit) {
		t.Errorf("stack: err = %v, want ErrLimit", err)
	}
	// memo
	memo := []byte("\x80\x04N")
	for i := 0; i < 2000; i++ {
		memo = append(memo, 0x94)
	}
	memo = append(memo, '.')
	if _, err := UnmarshalOptions(memo, Options{MaxMemo: 1000}); !errors.Is(err, ErrLimit) {
		t.Errorf("memo: err = %v, want ErrLimit", err)
	}
	if _, err := Unmarshal(memo); err != nil {
		t.Errorf("memo with default limit: %v", err)
	}
	// allocation
	big := append([]byte("\x80\x04\x8e\x00\x00\x10\x00\x00\x00\x00\x00"), make([]byte, 1<<20)...)
	big = append(big, '.')
	if _, err := UnmarshalOptions(big, Options{MaxAlloc: 1 << 19}); !errors.Is(err, ErrLimit) {
		t.Errorf("alloc: err = %v, want ErrLimit", err)
	}
	if _, err := Unmarshal(big); err != nil {
		t.Errorf("1 MiB bytes with default limits: %v", err)
	}
	// integer literal digits
	if _, err := Unmarshal([]byte("L" + strings.Repeat("9", 5000) + "L\n.")); !errors.Is(err, ErrLimit) {
		t.Errorf("long literal: err = %v, want ErrLimit", err)
	}
}

// TestBillionLaughs: each level is a list holding the previous level twice,
// through the memo; 60 levels are 2^60 values once expanded.
func TestBillionLaughs(t *testing.T) {
	p := []byte("\x80\x02X\x04\x00\x00\x00lolsq\x00")
	for i := 1; i <= 60; i++ {
		p = append(p, '(', 'h', byte(i-1), 'h', byte(i-1), 'l', 'q', byte(i))
	}
	p = append(p, '.')
	if _, err := Unmarshal(p); !errors.Is(err, ErrLimit) {
		t.Errorf("err = %v, want ErrLimit", err)
	}
	// a few shared references are fine, and stay shared
	v, err := Unmarshal([]byte("\x80\x02]q\x00K\x01a(h\x00h\x00l."))
	if err != nil {
		t.Fatal(err)
	}
	if l := v.([]any); len(l) != 2 || len(l[0].([]any)) != 1 {
		t.Errorf("got %#v", v)
	}
}
