package pickle

import "fmt"

// Pickle opcodes (Lib/pickle.py), protocols 0 to 5.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinint         = 'J'
	opBinint1        = 'K'
	opLong           = 'L'
	opBinint2        = 'M'
	opNone           = 'N'
	opPersid         = 'P'
	opBinpersid      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinstring      = 'T'
	opShortBinstring = 'U'
	opUnicode        = 'V'
	opBinunicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinget         = 'h'
	opInst           = 'i'
	opLongBinget     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinput         = 'q'
	opLongBinput     = 'r'
	opSetitem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetitems       = 'u'
	opBinfloat       = 'G'

	// protocol 2
	opProto    = 0x80
	opNewobj   = 0x81
	opExt1     = 0x82
	opExt2     = 0x83
	opExt4     = 0x84
	opTuple1   = 0x85
	opTuple2   = 0x86
	opTuple3   = 0x87
	opNewtrue  = 0x88
	opNewfalse = 0x89
	opLong1    = 0x8a
	opLong4    = 0x8b

	// protocol 3
	opBinbytes      = 'B'
	opShortBinbytes = 'C'

	// protocol 4
	opShortBinunicode = 0x8c
	opBinunicode8     = 0x8d
	opBinbytes8       = 0x8e
	opEmptySet        = 0x8f
	opAdditems        = 0x90
	opFrozenset       = 0x91
	opNewobjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95

	// protocol 5
	opBytearray8     = 0x96
	opNextBuffer     = 0x97
	opReadonlyBuffer = 0x98
)

var opNames = map[byte]string{
	opMark: "MARK", opStop: "STOP", opPop: "POP", opPopMark: "POP_MARK", opDup: "DUP",
	opFloat: "FLOAT", opInt: "INT", opBinint: "BININT", opBinint1: "BININT1", opLong: "LONG",
	opBinint2: "BININT2", opNone: "NONE", opPersid: "PERSID", opBinpersid: "BINPERSID",
	opReduce: "REDUCE", opString: "STRING", opBinstring: "BINSTRING",
	opShortBinstring: "SHORT_BINSTRING", opUnicode: "UNICODE", opBinunicode: "BINUNICODE",
	opAppend: "APPEND", opBuild: "BUILD", opGlobal: "GLOBAL", opDict: "DICT",
	opEmptyDict: "EMPTY_DICT", opAppends: "APPENDS", opGet: "GET", opBinget: "BINGET",
	opInst: "INST", opLongBinget: "LONG_BINGET", opList: "LIST", opEmptyList: "EMPTY_LIST",
	opObj: "OBJ", opPut: "PUT", opBinput: "BINPUT", opLongBinput: "LONG_BINPUT",
	opSetitem: "SETITEM", opTuple: "TUPLE", opEmptyTuple: "EMPTY_TUPLE", opSetitems: "SETITEMS",
	opBinfloat: "BINFLOAT", opProto: "PROTO", opNewobj: "NEWOBJ", opExt1: "EXT1",
	opExt2: "EXT2", opExt4: "EXT4", opTuple1: "TUPLE1", opTuple2: "TUPLE2", opTuple3: "TUPLE3",
	opNewtrue: "NEWTRUE", opNewfalse: "NEWFALSE", opLong1: "LONG1", opLong4: "LONG4",
	opBinbytes: "BINBYTES", opShortBinbytes: "SHORT_BINBYTES",
	opShortBinunicode: "SHORT_BINUNICODE", opBinunicode8: "BINUNICODE8",
	opBinbytes8: "BINBYTES8", opEmptySet: "EMPTY_SET", opAdditems: "ADDITEMS",
	opFrozenset: "FROZENSET", opNewobjEx: "NEWOBJ_EX", opStackGlobal: "STACK_GLOBAL",
	opMemoize: "MEMOIZE", opFrame: "FRAME", opBytearray8: "BYTEARRAY8",
	opNextBuffer: "NEXT_BUFFER", opReadonlyBuffer: "READONLY_BUFFER",
}

// opName formats an opcode like pickletools: its name and byte.
func opName(op byte) string {
	if n, ok := opNames[op]; ok {
		if op >= 0x20 && op < 0x7f {
			return fmt.Sprintf("%s %q", n, rune(op))
		}
		return fmt.Sprintf("%s 0x%02x", n, op)
	}
	return fmt.Sprintf("0x%02x", op)
}
