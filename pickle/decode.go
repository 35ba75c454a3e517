package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/coatcheck/coatcheck/pyval"
)

// Options bounds the work and memory Unmarshal may spend on one pickle. The
// zero value of every field selects its default.
type Options struct {
	// MaxDepth is the deepest nesting of containers in the result
	// (default 1000, like Python's recursion limit).
	MaxDepth int
	// MaxStack is the largest number of entries on the unpickler's stack,
	// marks included (default 1<<20).
	MaxStack int
	// MaxMemo is the largest number of memo entries (default 1<<20).
	MaxMemo int
	// MaxAlloc bounds the memory the decoder allocates, estimated as the
	// bytes of every string, bytes and integer plus 16 bytes per container
	// slot (default 64 MiB).
	MaxAlloc int
	// MaxValueSize bounds the size of the result counted as if every shared
	// reference were copied: one unit per value plus the length of every
	// string and bytes value (default 64 Mi). It stops "billion laughs"
	// pickles, whose memo references would blow up any encoder that later
	// walks the value.
	MaxValueSize int64
	// MaxIntDigits bounds decimal integer literals of the text opcodes INT
	// and LONG (default 4300, Python 3.11's int-from-string limit).
	MaxIntDigits int
}

const (
	defaultMaxDepth     = 1000
	defaultMaxStack     = 1 << 20
	defaultMaxMemo      = 1 << 20
	defaultMaxAlloc     = 64 << 20
	defaultMaxValueSize = 64 << 20
	defaultMaxIntDigits = 4300
	slotCost            = 16
)

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = defaultMaxDepth
	}
	if o.MaxStack <= 0 {
		o.MaxStack = defaultMaxStack
	}
	if o.MaxMemo <= 0 {
		o.MaxMemo = defaultMaxMemo
	}
	if o.MaxAlloc <= 0 {
		o.MaxAlloc = defaultMaxAlloc
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = defaultMaxValueSize
	}
	if o.MaxIntDigits <= 0 {
		o.MaxIntDigits = defaultMaxIntDigits
	}
	return o
}

// Unmarshal decodes a pickle (protocols 0 to 5) into the pyval value model,
// with the default Options. See the package documentation for the types it
// produces and the globals it accepts.
func Unmarshal(data []byte) (any, error) {
	return UnmarshalOptions(data, Options{})
}

// UnmarshalOptions is Unmarshal with explicit limits.
func UnmarshalOptions(data []byte, opts Options) (any, error) {
	d := &decoder{data: data, opts: opts.withDefaults(), memo: make(map[uint64]any)}
	return d.run()
}

// Internal values that exist only while unpickling. finish converts them to
// the value model; the mutable containers are pointers so that memo
// references and later APPEND/SETITEM/BUILD see the same object, as in Python.
type (
	pyList  struct{ items []any }
	pyTuple struct{ items []any }
	pyDict  struct{ m map[string]any }
	pySet   struct {
		items  []any
		frozen bool
	}
	pyUUID struct {
		u     pyval.UUID
		built bool
	}
	// py2str is a Python 2 str (STRING, BINSTRING, SHORT_BINSTRING): bytes
	// of unknown encoding.
	py2str      string
	pyTimedelta struct{ us int64 }
	pyTimezone  struct {
		off int // seconds east of UTC
	}
)

type decoder struct {
	data  []byte
	pos   int
	opPos int
	op    byte
	stack []any
	marks []int
	memo  map[uint64]any
	opts  Options
	alloc int
	proto int
}

func (d *decoder) errf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Offset: d.opPos, Opcode: d.op, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) malformed(format string, args ...any) error {
	return d.errf(ErrMalformed, format, args...)
}

// charge accounts n bytes of allocation against MaxAlloc.
func (d *decoder) charge(n int) error {
	if n < 0 || n > d.opts.MaxAlloc-d.alloc {
		return d.errf(ErrLimit, "decoded data would exceed MaxAlloc (%d bytes)", d.opts.MaxAlloc)
	}
	d.alloc += n
	return nil
}

func (d *decoder) remaining() int { return len(d.data) - d.pos }

// read returns the next n bytes (a sub-slice of the input, not a copy).
func (d *decoder) read(n uint64) ([]byte, error) {
	if n > uint64(d.remaining()) {
		return nil, d.malformed("pickle data was truncated: need %d bytes, %d left", n, d.remaining())
	}
	b := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *decoder) readByte() (byte, error) {
	b, err := d.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) readUint16() (uint64, error) {
	b, err := d.read(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (d *decoder) readUint32() (uint64, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (d *decoder) readUint64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// readLine returns the bytes up to the next '\n' (excluded) and consumes it.
func (d *decoder) readLine() ([]byte, error) {
	for i := d.pos; i < len(d.data); i++ {
		if d.data[i] == '\n' {
			line := d.data[d.pos:i]
			d.pos = i + 1
			return line, nil
		}
	}
	return nil, d.malformed("pickle data was truncated: missing end of line")
}

func (d *decoder) push(v any) error {
	if len(d.stack)+len(d.marks) >= d.opts.MaxStack {
		return d.errf(ErrLimit, "stack deeper than MaxStack (%d)", d.opts.MaxStack)
	}
	d.stack = append(d.stack, v)
	return nil
}

func (d *decoder) fence() int {
	if len(d.marks) == 0 {
		return 0
	}
	return d.marks[len(d.marks)-1]
}

func (d *decoder) pop() (any, error) {
	if len(d.stack) <= d.fence() {
		return nil, d.malformed("unpickling stack underflow")
	}
	v := d.stack[len(d.stack)-1]
	d.stack[len(d.stack)-1] = nil
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

// pop2 pops the top two values and returns them in the order they were
// pushed (a below b).
func (d *decoder) pop2() (a, b any, err error) {
	if b, err = d.pop(); err != nil {
		return nil, nil, err
	}
	if a, err = d.pop(); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// pop3 pops the top three values and returns them in the order they were
// pushed.
func (d *decoder) pop3() (a, b, c any, err error) {
	if c, err = d.pop(); err != nil {
		return nil, nil, nil, err
	}
	if a, b, err = d.pop2(); err != nil {
		return nil, nil, nil, err
	}
	return a, b, c, nil
}

func (d *decoder) top() (any, error) {
	if len(d.stack) <= d.fence() {
		return nil, d.malformed("unpickling stack underflow")
	}
	return d.stack[len(d.stack)-1], nil
}

// popMark removes the items above the innermost MARK and the mark itself,
// and returns a copy of the items.
func (d *decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, d.malformed("could not find MARK")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	n := len(d.stack) - m
	if err := d.charge(n * slotCost); err != nil {
		return nil, err
	}
	items := make([]any, n)
	copy(items, d.stack[m:])
	clear(d.stack[m:])
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) memoPut(idx uint64, v any) error {
	if _, ok := d.memo[idx]; !ok && len(d.memo) >= d.opts.MaxMemo {
		return d.errf(ErrLimit, "memo larger than MaxMemo (%d entries)", d.opts.MaxMemo)
	}
	d.memo[idx] = v
	return nil
}

func (d *decoder) memoGet(idx uint64) error {
	v, ok := d.memo[idx]
	if !ok {
		return d.malformed("memo key %d not found", idx)
	}
	return d.push(v)
}

// bytesOp reads a length-prefixed byte string and returns a copy.
func (d *decoder) readCounted(n uint64) ([]byte, error) {
	if n > uint64(d.remaining()) {
		return nil, d.malformed("pickle data was truncated: length %d exceeds the %d bytes left", n, d.remaining())
	}
	if err := d.charge(int(n)); err != nil {
		return nil, err
	}
	b, err := d.read(n)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

func (d *decoder) readCountedString(n uint64) (string, error) {
	if n > uint64(d.remaining()) {
		return "", d.malformed("pickle data was truncated: length %d exceeds the %d bytes left", n, d.remaining())
	}
	if err := d.charge(int(n)); err != nil {
		return "", err
	}
	b, err := d.read(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (d *decoder) pushUnicode(n uint64) error {
	s, err := d.readCountedString(n)
	if err != nil {
		return err
	}
	if !validSurrogatePass(s) {
		return d.malformed("invalid UTF-8 in string")
	}
	return d.push(s)
}

func (d *decoder) run() (any, error) {
	for {
		if d.pos >= len(d.data) {
			d.opPos, d.op = d.pos, 0
			return nil, d.malformed("pickle data was truncated: no STOP opcode")
		}
		d.opPos = d.pos
		d.op = d.data[d.pos]
		d.pos++
		if d.op == opStop {
			v, err := d.pop()
			if err != nil {
				return nil, err
			}
			f := finisher{opts: d.opts, seen: make(map[any]*finEntry)}
			out, size, err := f.conv(v, 0)
			if err != nil {
				return nil, err
			}
			if size > d.opts.MaxValueSize {
				return nil, &Error{Kind: ErrLimit, Offset: -1, Msg: fmt.Sprintf("value larger than MaxValueSize (%d)", d.opts.MaxValueSize)}
			}
			return out, nil
		}
		if err := d.step(); err != nil {
			return nil, err
		}
	}
}

func (d *decoder) step() error {
	switch d.op {
	case opProto, opFrame, opMark, opPop, opPopMark, opDup:
		return d.stepStack()
	case opPut, opBinput, opLongBinput, opMemoize, opGet, opBinget, opLongBinget:
		return d.stepMemo()
	case opNone, opNewtrue, opNewfalse, opInt, opLong, opBinint, opBinint1, opBinint2, opLong1, opLong4:
		return d.stepInt()
	case opFloat, opBinfloat, opString, opBinstring, opShortBinstring, opUnicode:
		return d.stepText()
	case opBinunicode, opShortBinunicode, opBinunicode8, opBinbytes, opShortBinbytes, opBinbytes8, opBytearray8:
		return d.stepBinary()
	case opEmptyDict, opDict, opSetitem, opSetitems:
		return d.stepDict()
	case opEmptyList, opList, opAppend, opAppends, opEmptyTuple, opTuple, opTuple1, opTuple2, opTuple3, opEmptySet, opAdditems, opFrozenset:
		return d.stepSeq()
	case opGlobal, opStackGlobal, opReduce, opNewobj, opNewobjEx, opBuild:
		return d.stepGlobal()
	case opInst, opObj, opExt1, opExt2, opExt4, opPersid, opBinpersid, opNextBuffer, opReadonlyBuffer:
		return d.stepUnsupported()
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepStack executes the stack and framing opcodes.
func (d *decoder) stepStack() error {
	switch d.op {
	case opProto:
		p, err := d.readByte()
		if err != nil {
			return err
		}
		if p > 5 {
			return d.malformed("unsupported pickle protocol: %d", p)
		}
		d.proto = int(p)
		return nil
	case opFrame:
		n, err := d.readUint64()
		if err != nil {
			return err
		}
		if n > uint64(d.remaining()) {
			return d.malformed("pickle data was truncated: frame of %d bytes, %d left", n, d.remaining())
		}
		return nil
	case opMark:
		if len(d.stack)+len(d.marks) >= d.opts.MaxStack {
			return d.errf(ErrLimit, "stack deeper than MaxStack (%d)", d.opts.MaxStack)
		}
		d.marks = append(d.marks, len(d.stack))
		return nil
	case opPop:
		if len(d.stack) > d.fence() {
			_, err := d.pop()
			return err
		}
		if len(d.marks) > 0 {
			d.marks = d.marks[:len(d.marks)-1]
			return nil
		}
		return d.malformed("unpickling stack underflow")
	case opPopMark:
		_, err := d.popMark()
		return err
	case opDup:
		v, err := d.top()
		if err != nil {
			return err
		}
		return d.push(v)
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepMemo executes the memo opcodes.
func (d *decoder) stepMemo() error {
	switch d.op {
	case opPut:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		idx, ok := parseUintLine(line)
		if !ok {
			return d.malformed("bad PUT argument %q", line)
		}
		return d.putTop(idx)
	case opBinput:
		idx, err := d.readByte()
		if err != nil {
			return err
		}
		return d.putTop(uint64(idx))
	case opLongBinput:
		idx, err := d.readUint32()
		if err != nil {
			return err
		}
		return d.putTop(idx)
	case opMemoize:
		return d.putTop(uint64(len(d.memo)))
	case opGet:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		idx, ok := parseUintLine(line)
		if !ok {
			return d.malformed("bad GET argument %q", line)
		}
		return d.memoGet(idx)
	case opBinget:
		idx, err := d.readByte()
		if err != nil {
			return err
		}
		return d.memoGet(uint64(idx))
	case opLongBinget:
		idx, err := d.readUint32()
		if err != nil {
			return err
		}
		return d.memoGet(idx)
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepInt executes the None, bool and integer opcodes.
func (d *decoder) stepInt() error {
	switch d.op {
	case opNone:
		return d.push(nil)
	case opNewtrue:
		return d.push(true)
	case opNewfalse:
		return d.push(false)
	case opInt:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		switch string(line) {
		case "00":
			return d.push(false)
		case "01":
			return d.push(true)
		}
		v, err := d.parseTextInt(line)
		if err != nil {
			return err
		}
		return d.push(v)
	case opLong:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		if n := len(line); n > 0 && line[n-1] == 'L' {
			line = line[:n-1]
		}
		v, err := d.parseTextInt(line)
		if err != nil {
			return err
		}
		return d.push(v)
	case opBinint:
		b, err := d.read(4)
		if err != nil {
			return err
		}
		return d.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinint1:
		b, err := d.readByte()
		if err != nil {
			return err
		}
		return d.push(int64(b))
	case opBinint2:
		n, err := d.readUint16()
		if err != nil {
			return err
		}
		return d.push(int64(n))
	case opLong1:
		n, err := d.readByte()
		if err != nil {
			return err
		}
		return d.pushLong(uint64(n))
	case opLong4:
		n, err := d.readUint32()
		if err != nil {
			return err
		}
		if int32(n) < 0 {
			return d.malformed("LONG pickle has negative byte count")
		}
		return d.pushLong(n)
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepText executes the float and text-string opcodes.
func (d *decoder) stepText() error {
	switch d.op {
	case opFloat:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		f, ok := parseFloatText(line)
		if !ok {
			return d.malformed("bad FLOAT literal %q", line)
		}
		return d.push(f)
	case opBinfloat:
		b, err := d.read(8)
		if err != nil {
			return err
		}
		return d.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opString:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '\'' && line[0] != '"') {
			return d.malformed("the STRING opcode argument must be quoted")
		}
		if err := d.charge(len(line)); err != nil {
			return err
		}
		s, ok := escapeDecode(line[1 : len(line)-1])
		if !ok {
			return d.malformed("invalid escape in STRING argument")
		}
		return d.push(py2str(s))
	case opBinstring:
		n, err := d.readUint32()
		if err != nil {
			return err
		}
		if int32(n) < 0 {
			return d.malformed("BINSTRING pickle has negative byte count")
		}
		s, err := d.readCountedString(n)
		if err != nil {
			return err
		}
		return d.push(py2str(s))
	case opShortBinstring:
		n, err := d.readByte()
		if err != nil {
			return err
		}
		s, err := d.readCountedString(uint64(n))
		if err != nil {
			return err
		}
		return d.push(py2str(s))
	case opUnicode:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		if err := d.charge(2 * len(line)); err != nil {
			return err
		}
		s, ok := rawUnicodeEscapeDecode(line)
		if !ok {
			return d.malformed("invalid raw-unicode-escape data in UNICODE argument")
		}
		return d.push(s)
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepBinary executes the length-prefixed unicode and bytes opcodes.
func (d *decoder) stepBinary() error {
	switch d.op {
	case opBinunicode:
		n, err := d.readUint32()
		if err != nil {
			return err
		}
		return d.pushUnicode(n)
	case opShortBinunicode:
		n, err := d.readByte()
		if err != nil {
			return err
		}
		return d.pushUnicode(uint64(n))
	case opBinunicode8:
		n, err := d.readUint64()
		if err != nil {
			return err
		}
		return d.pushUnicode(n)
	case opBinbytes, opShortBinbytes, opBinbytes8, opBytearray8:
		var n uint64
		var err error
		switch d.op {
		case opBinbytes:
			n, err = d.readUint32()
		case opShortBinbytes:
			var b byte
			b, err = d.readByte()
			n = uint64(b)
		default:
			n, err = d.readUint64()
		}
		if err != nil {
			return err
		}
		b, err := d.readCounted(n)
		if err != nil {
			return err
		}
		return d.push(b)
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepDict executes the dict opcodes.
func (d *decoder) stepDict() error {
	switch d.op {
	case opEmptyDict:
		return d.pushNew(&pyDict{m: make(map[string]any)})
	case opDict:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return d.malformed("odd number of items for DICT")
		}
		dict := &pyDict{m: make(map[string]any, len(items)/2)}
		for i := 0; i < len(items); i += 2 {
			if err := d.setItem(dict, items[i], items[i+1]); err != nil {
				return err
			}
		}
		return d.push(dict)
	case opSetitem:
		k, v, err := d.pop2()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		dict, ok := t.(*pyDict)
		if !ok {
			return d.malformed("SETITEM on %s, not a dict", typeName(t))
		}
		return d.setItem(dict, k, v)
	case opSetitems:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		dict, ok := t.(*pyDict)
		if !ok {
			return d.malformed("SETITEMS on %s, not a dict", typeName(t))
		}
		if len(items)%2 != 0 {
			return d.malformed("odd number of items for SETITEMS")
		}
		for i := 0; i < len(items); i += 2 {
			if err := d.setItem(dict, items[i], items[i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepSeq executes the list, tuple and set opcodes.
func (d *decoder) stepSeq() error {
	switch d.op {
	case opEmptyList:
		return d.pushNew(&pyList{})
	case opList:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.push(&pyList{items: items})
	case opAppend:
		v, err := d.pop()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		l, ok := t.(*pyList)
		if !ok {
			return d.malformed("APPEND to %s, not a list", typeName(t))
		}
		if err := d.charge(slotCost); err != nil {
			return err
		}
		l.items = append(l.items, v)
		return nil
	case opAppends:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		l, ok := t.(*pyList)
		if !ok {
			return d.malformed("APPENDS to %s, not a list", typeName(t))
		}
		l.items = append(l.items, items...)
		return nil
	case opEmptyTuple:
		return d.pushNew(&pyTuple{})
	case opTuple:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.push(&pyTuple{items: items})
	case opTuple1, opTuple2, opTuple3:
		n := int(d.op-opTuple1) + 1
		if len(d.stack)-d.fence() < n {
			return d.malformed("unpickling stack underflow")
		}
		if err := d.charge(n * slotCost); err != nil {
			return err
		}
		items := make([]any, n)
		copy(items, d.stack[len(d.stack)-n:])
		clear(d.stack[len(d.stack)-n:])
		d.stack = d.stack[:len(d.stack)-n]
		return d.push(&pyTuple{items: items})
	case opEmptySet:
		return d.pushNew(&pySet{})
	case opAdditems:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		s, ok := t.(*pySet)
		if !ok || s.frozen {
			return d.malformed("ADDITEMS to %s, not a set", typeName(t))
		}
		s.items = append(s.items, items...)
		return nil
	case opFrozenset:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		return d.push(&pySet{items: items, frozen: true})
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepGlobal executes the global and object-construction opcodes.
func (d *decoder) stepGlobal() error {
	switch d.op {
	case opGlobal:
		mod, err := d.readLine()
		if err != nil {
			return err
		}
		name, err := d.readLine()
		if err != nil {
			return err
		}
		if !utf8.Valid(mod) || !utf8.Valid(name) {
			return d.malformed("GLOBAL name is not valid UTF-8")
		}
		g, err := d.lookupGlobal(string(mod), string(name))
		if err != nil {
			return err
		}
		return d.push(g)
	case opStackGlobal:
		modV, nameV, err := d.pop2()
		if err != nil {
			return err
		}
		mod, ok1 := modV.(string)
		name, ok2 := nameV.(string)
		if !ok1 || !ok2 {
			return d.malformed("STACK_GLOBAL requires str, got %s and %s", typeName(modV), typeName(nameV))
		}
		g, err := d.lookupGlobal(mod, name)
		if err != nil {
			return err
		}
		return d.push(g)
	case opReduce:
		fn, args, err := d.pop2()
		if err != nil {
			return err
		}
		v, err := d.reduce(fn, args)
		if err != nil {
			return err
		}
		return d.push(v)
	case opNewobj:
		cls, args, err := d.pop2()
		if err != nil {
			return err
		}
		v, err := d.newobj(cls, args)
		if err != nil {
			return err
		}
		return d.push(v)
	case opNewobjEx:
		cls, args, kwargs, err := d.pop3()
		if err != nil {
			return err
		}
		if kw, ok := kwargs.(*pyDict); !ok || len(kw.m) != 0 {
			return d.errf(ErrUnsupported, "NEWOBJ_EX with keyword arguments")
		}
		v, err := d.newobj(cls, args)
		if err != nil {
			return err
		}
		return d.push(v)
	case opBuild:
		state, err := d.pop()
		if err != nil {
			return err
		}
		inst, err := d.top()
		if err != nil {
			return err
		}
		return d.build(inst, state)
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// stepUnsupported executes the opcodes Coatcheck refuses.
func (d *decoder) stepUnsupported() error {
	switch d.op {
	case opInst:
		mod, err := d.readLine()
		if err != nil {
			return err
		}
		name, err := d.readLine()
		if err != nil {
			return err
		}
		if _, err := d.lookupGlobal(string(mod), string(name)); err != nil {
			return err
		}
		return d.errf(ErrUnsupported, "INST opcode (old-style class instance) is not supported")
	case opObj:
		return d.errf(ErrUnsupported, "OBJ opcode (old-style class instance) is not supported")
	case opExt1, opExt2, opExt4:
		return d.errf(ErrForbiddenGlobal, "extension registry codes (copyreg.add_extension) are not allowed")
	case opPersid, opBinpersid:
		return d.errf(ErrUnsupported, "persistent IDs are not supported")
	case opNextBuffer, opReadonlyBuffer:
		return d.errf(ErrUnsupported, "out-of-band buffers are not supported")
	}
	return d.malformed("invalid load key %s", opName(d.op))
}

// pushNew pushes a freshly created container, charging its slot.
func (d *decoder) pushNew(v any) error {
	if err := d.charge(slotCost); err != nil {
		return err
	}
	return d.push(v)
}

func (d *decoder) putTop(idx uint64) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	return d.memoPut(idx, v)
}

func (d *decoder) pushLong(n uint64) error {
	b, err := d.read(n)
	if err != nil {
		return err
	}
	if n <= 8 {
		return d.push(decodeLongSmall(b))
	}
	if err := d.charge(int(n)); err != nil {
		return err
	}
	return d.push(decodeLong(b))
}

// decodeLongSmall decodes a little-endian two's complement integer of at
// most 8 bytes.
func decodeLongSmall(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if len(b) < 8 && b[len(b)-1]&0x80 != 0 {
		u |= ^uint64(0) << (8 * uint(len(b)))
	}
	return int64(u)
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if len(b) > 0 && b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return pyval.NormalizeInt(n)
}

// parseTextInt parses the decimal argument of INT or LONG.
func (d *decoder) parseTextInt(line []byte) (any, error) {
	digits := line
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return nil, d.malformed("bad integer literal %q", line)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return nil, d.malformed("bad integer literal %q", line)
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		allZero := true
		for _, c := range digits {
			allZero = allZero && c == '0'
		}
		if !allZero {
			return nil, d.malformed("integer literal with a leading zero %q", line)
		}
	}
	if len(digits) > d.opts.MaxIntDigits {
		return nil, d.errf(ErrLimit, "integer literal longer than MaxIntDigits (%d)", d.opts.MaxIntDigits)
	}
	if i, err := strconv.ParseInt(string(line), 10, 64); err == nil {
		return i, nil
	}
	if err := d.charge(len(line)); err != nil {
		return nil, err
	}
	n, ok := new(big.Int).SetString(string(line), 10)
	if !ok {
		return nil, d.malformed("bad integer literal %q", line)
	}
	return pyval.NormalizeInt(n), nil
}

// parseUintLine parses a memo index of PUT or GET.
func parseUintLine(line []byte) (uint64, bool) {
	if len(line) == 0 || len(line) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range line {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseFloatText parses the argument of FLOAT like PyOS_string_to_double:
// decimal notation, inf, infinity or nan, no whitespace; overflow is an error.
func parseFloatText(line []byte) (float64, bool) {
	if len(line) == 0 || len(line) > 1000 {
		return 0, false
	}
	s := string(line)
	body := s
	if body[0] == '-' || body[0] == '+' {
		body = body[1:]
	}
	switch lower(body) {
	case "inf", "infinity":
		if s[0] == '-' {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	case "nan":
		return math.NaN(), true
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// typeName names an unpickled value's Python type for error messages.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case py2str:
		return "str (Python 2)"
	case []byte:
		return "bytes"
	case *pyList:
		return "list"
	case *pyTuple:
		return "tuple"
	case *pyDict:
		return "dict"
	case *pySet:
		if x.frozen {
			return "frozenset"
		}
		return "set"
	case *pyUUID, pyval.UUID:
		return "uuid.UUID"
	case pyval.Markup:
		return "markupsafe.Markup"
	case pyval.Decimal:
		return "decimal.Decimal"
	case pyval.Date:
		return "datetime.date"
	case time.Time:
		return "datetime.datetime"
	case pyTimedelta:
		return "datetime.timedelta"
	case pyTimezone:
		return "datetime.timezone"
	case global:
		return "global " + x.String()
	}
	return fmt.Sprintf("%T", v)
}
